"""The rotation task: exact rotations, the reference binning, batches on the device."""

import numpy as np
import pytest
import torch

from hypermod.tasks import RotationConfig, angle_bins, chance_error, rotate


@pytest.mark.parametrize("size", [(28, 28), (7, 7), (8, 8)])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_multiples_of_90_equal_rot90_exactly(size, k):
    gen = torch.Generator().manual_seed(k)
    images = torch.rand(5, 3, *size, generator=gen)
    out = rotate(images, torch.full((5,), 90.0 * k), mode="nearest")
    assert torch.equal(out, torch.rot90(images, k, dims=(-2, -1)))


def test_zero_angle_is_identity_and_angles_are_per_sample():
    images = torch.rand(3, 1, 9, 9)
    out = rotate(images, torch.tensor([0.0, 90.0, 180.0]))
    assert torch.equal(out[0], images[0])
    assert torch.equal(out[1], torch.rot90(images[1], 1, dims=(-2, -1)))
    assert torch.equal(out[2], torch.rot90(images[2], 2, dims=(-2, -1)))


def test_rotation_fills_corners_with_zeros():
    images = torch.ones(1, 1, 16, 16)
    out = rotate(images, torch.tensor([45.0]))
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 8, 8] == 1


def test_nearest_rotation_agrees_with_pil():
    """PIL's Image.rotate (nearest, zero fill) is what the reference uses."""
    pil = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
    for angle in (13.0, 30.0, 45.0, 101.5, 222.0, 300.0):
        want = np.asarray(pil.fromarray(img).rotate(angle))
        got = rotate(torch.from_numpy(img)[None, None].double(), torch.tensor([angle]))[0, 0]
        agree = (got.numpy().astype(np.uint8) == want).mean()
        assert agree > 0.97, (angle, agree)  # only pixels on sampling boundaries may differ


@pytest.mark.parametrize(
    "angle,reference,circular",
    [
        (0.0, 0, 0), (14.9, 0, 0), (15.0, 0, 0), (15.1, 1, 1), (44.9, 1, 1), (45.1, 2, 2),
        (179.0, 6, 6), (314.9, 10, 10), (315.1, 11, 11), (344.9, 11, 11), (345.1, 11, 0),
        (359.99, 11, 0),
    ],
)
def test_bins_follow_reference_and_circular_rules(angle, reference, circular):
    degrees = torch.tensor([angle])
    assert angle_bins(degrees, 12, "reference").item() == reference
    assert angle_bins(degrees, 12, "circular").item() == circular


def test_bin_matches_the_reference_rule_on_many_angles():
    """The reference takes min over centres of |angle - c|, the first on ties."""
    angles = np.random.default_rng(1).uniform(0, 360, 2000)
    centres = [30 * i for i in range(12)]
    want = [centres.index(min(centres, key=lambda c, a=a: abs(c - a))) for a in angles]
    assert angle_bins(torch.from_numpy(angles)).tolist() == want


def test_bad_task_settings_are_refused():
    with pytest.raises(ValueError, match="binning"):
        RotationConfig(binning="wrap")
    with pytest.raises(ValueError, match="interpolation"):
        RotationConfig(interpolation="cubic")
    with pytest.raises(ValueError, match="degrees"):
        rotate(torch.zeros(2, 1, 4, 4), torch.zeros(3))


@pytest.mark.parametrize("binning", ["reference", "circular"])
@pytest.mark.parametrize("bins", [2, 12])
def test_chance_error_is_the_best_constant_guess(binning, bins):
    angles = torch.linspace(0, 360, 360_001)[:-1]  # uniform over [0, 360)
    share = torch.bincount(angle_bins(angles, bins, binning), minlength=bins) / len(angles)
    assert chance_error(bins, binning) == pytest.approx(1 - share.max().item(), abs=1e-4)
    if binning == "reference" and bins == 12:
        assert chance_error(bins, binning) == 0.875  # bin 11 covers [315, 360)
