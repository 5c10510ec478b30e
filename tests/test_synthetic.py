"""Synthetic targets: exact reproduction from a seed, unit variance, the structured target
against its definition, the smooth target's measured spectrum against the requested r."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hypermod.tasks.synthetic import (
    SmoothTarget,
    StructuredTarget,
    make_target,
    sample,
    splits,
)


@pytest.mark.parametrize("kind", ["structured", "smooth"])
def test_a_target_is_reproduced_exactly_from_its_seed(kind):
    a, b, other = (make_target(kind, 2, 3, seed=s) for s in (5, 5, 6))
    x = 2 * torch.rand(7, 11, 2, generator=torch.Generator().manual_seed(0)) - 1
    instances = 2 * torch.rand(7, 3, generator=torch.Generator().manual_seed(1)) - 1
    assert torch.equal(a(x, instances), b(x, instances))
    assert not torch.allclose(a(x, instances), other(x, instances))
    first = splits(a, seed=3, sizes=((16, 4), (8, 4)))
    again = splits(b, seed=3, sizes=((16, 4), (8, 4)))
    for s, t in zip(first, again):
        assert torch.equal(s.x, t.x) and torch.equal(s.instances, t.instances)
        assert torch.equal(s.y, t.y)
    assert not torch.equal(first[0].instances, first[1].instances[:8].repeat(2, 1))


def test_structured_teacher_weights_are_bitwise_reproducible():
    a, b = StructuredTarget(1, 4, seed=9), StructuredTarget(1, 4, seed=9)
    for (wa, ba), (wb, bb) in zip(a.layers, b.layers):
        assert torch.equal(wa, wb) and torch.equal(ba, bb)
    assert (a.shift, a.scale) == (b.shift, b.scale)


def test_structured_target_is_g_star_of_f_star_sample_by_sample():
    target = StructuredTarget(2, 3, primary_width=5, teacher_width=7, seed=2)
    gen = torch.Generator().manual_seed(0)
    data = sample(target, 6, 9, gen)
    for b in range(6):
        h = data.instances[b]
        for i, (w, bias) in enumerate(target.layers):  # f*: tanh MLP of I
            h = F.linear(h, w, bias)
            h = torch.tanh(h) if i < len(target.layers) - 1 else h
        theta = h * target.gains
        w1, b1 = theta[:10].view(5, 2), theta[10:15]
        w2, b2 = theta[15:20].view(1, 5), theta[20:]
        y = F.linear(torch.tanh(F.linear(data.x[b], w1, b1)), w2, b2).squeeze(1)
        torch.testing.assert_close((y - target.shift) / target.scale, data.y[b])
    assert target.num_generated == 21


@pytest.mark.parametrize("kind,m1,m2", [("smooth", 1, 1), ("smooth", 2, 4),
                                        ("structured", 1, 2), ("structured", 2, 4)])
def test_targets_have_mean_zero_and_unit_variance(kind, m1, m2):
    data = sample(make_target(kind, m1, m2, seed=4), 4096, 32,
                  torch.Generator().manual_seed(123))  # other points than the normalization
    assert abs(float(data.y.mean())) < 0.05
    assert abs(float(data.y.std()) - 1) < 0.05
    assert data.x.abs().max() <= 1 and data.instances.abs().max() <= 1


def _line_spectrum_slope(target, lines=8, length=512.0, dt=1 / 64, band=(2.0, 12.0)):
    """Slope of log power spectral density against log frequency along random lines.

    Frequencies are in the target's units (cos(pi w . z)): nu = 2 x cycles per unit.
    """
    gen = torch.Generator().manual_seed(0)
    m, n = target.m1 + target.m2, int(length / dt)
    t = torch.arange(n, dtype=torch.float32) * dt
    power = 0.0
    for _ in range(lines):
        v = torch.randn(m, generator=gen)
        z = (2 * torch.rand(m, generator=gen) - 1) + t[:, None] * (v / v.norm())
        y = target(z[:, None, : target.m1], z[:, target.m1:]).squeeze(1).double().numpy()
        power = power + np.abs(np.fft.rfft((y - y.mean()) * np.hanning(n))) ** 2
    nu = 2 * np.fft.rfftfreq(n, dt)
    edges = np.geomspace(*band, 9)
    density = [power[(nu >= a) & (nu < b)].sum() / (b - a) for a, b in zip(edges, edges[1:])]
    return np.polyfit(np.log(np.sqrt(edges[1:] * edges[:-1])), np.log(density), 1)[0]


@pytest.mark.parametrize("m1,m2", [(1, 1), (2, 3)])
def test_smooth_target_spectrum_decays_at_the_requested_rate(m1, m2):
    # Coefficients ~ |w|^-(r + m/2 + delta) give, along any line, a power spectral density
    # ~ nu^-(2r + 2 delta + 1); measured from function values, not from the coefficients.
    slopes = {}
    for r in (1.0, 2.0):
        target = SmoothTarget(m1, m2, r=r, delta=0.1, seed=1)
        slopes[r] = _line_spectrum_slope(target)
        assert slopes[r] == pytest.approx(-(2 * r + 0.2 + 1), abs=0.5), (r, slopes[r])
    assert slopes[1.0] - slopes[2.0] == pytest.approx(2.0, abs=0.6)


def test_sampling_millions_of_points_is_chunked():
    target = SmoothTarget(1, 2, terms=64, seed=0)
    data = sample(target, 20_000, 50, torch.Generator().manual_seed(0))  # 1,000,000 points
    assert data.num_points == 1_000_000 and torch.isfinite(data.y).all()
    single = target(data.x[:3], data.instances[:3])
    torch.testing.assert_close(single, data.y[:3])


def test_bad_shapes_and_settings_are_refused():
    target = StructuredTarget(2, 3)
    with pytest.raises(ValueError, match=r"expected \(B, n, 2\)"):
        target(torch.zeros(4, 5, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"expected \(4, 3\)"):
        target(torch.zeros(4, 5, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="unknown target"):
        make_target("rough", 1, 1)
    with pytest.raises(ValueError, match="r > 0"):
        SmoothTarget(1, 1, r=0)
    assert math.isfinite(StructuredTarget(1, 1, seed=3).scale)
