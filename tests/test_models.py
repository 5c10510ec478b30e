"""Both conditioning methods: batched per-sample weights, parameter counts, shapes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hypermod import theory
from hypermod.models import (
    EmbeddingNetwork,
    HyperNetwork,
    MLPPrimary,
    MLPSpec,
    ModulePrimary,
    Sizes,
    build_model,
    mlp_encoder,
    paper,
    split_params,
)


def loop_mlp(theta, x, spec):
    """Reference: apply each sample's weights one sample at a time."""
    rows = []
    for b in range(x.shape[0]):
        params = split_params(theta[b : b + 1], spec.shapes)
        h = x[b]
        n = len(spec.widths) - 1
        for i in range(n):
            w = params[f"layers.{i}.weight"][0]
            bias = params[f"layers.{i}.bias"][0] if spec.bias else None
            h = F.linear(h, w, bias)
            if i < n - 1:
                h = {"relu": F.relu, "elu": F.elu, "tanh": torch.tanh}[spec.activation](h)
        rows.append(h)
    return torch.stack(rows)


@pytest.mark.parametrize(
    "spec",
    [
        MLPSpec((784, 10, 12), bias=False, activation="relu"),
        MLPSpec((13, 7, 5, 3), bias=True, activation="elu"),
        MLPSpec((6, 4), bias=True, activation="tanh"),
    ],
)
def test_batched_primary_equals_per_sample_loop(spec):
    gen = torch.Generator().manual_seed(0)
    g = MLPPrimary(spec)
    theta = torch.randn(9, g.num_params, generator=gen, dtype=torch.float64)
    x = torch.randn(9, spec.widths[0], generator=gen, dtype=torch.float64)
    batched = g(split_params(theta, g.param_shapes), x)
    assert batched.shape == (9, spec.widths[-1])
    torch.testing.assert_close(batched, loop_mlp(theta, x, spec), rtol=0, atol=1e-10)


def test_samples_really_get_different_functions():
    spec = MLPSpec((5, 4, 3))
    g = MLPPrimary(spec)
    theta = torch.randn(2, g.num_params, dtype=torch.float64)
    x = torch.randn(1, 5, dtype=torch.float64).expand(2, 5)
    out = g(split_params(theta, g.param_shapes), x)
    assert not torch.allclose(out[0], out[1])


def test_module_primary_matches_mlp_primary():
    spec = MLPSpec((20, 10, 12), bias=False, activation="relu")
    template = nn.Sequential(
        nn.Linear(20, 10, bias=False), nn.ReLU(), nn.Linear(10, 12, bias=False)
    )
    fast, generic = MLPPrimary(spec), ModulePrimary(template.double())
    assert list(generic.param_shapes.values()) == list(fast.param_shapes.values())
    theta = torch.randn(6, fast.num_params, dtype=torch.float64)
    x = torch.randn(6, 20, dtype=torch.float64)
    a = fast(split_params(theta, fast.param_shapes), x)
    b = generic(split_params(theta, generic.param_shapes), x)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_module_primary_runs_a_conv_net_per_sample():
    template = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ELU(), nn.Flatten(0), nn.Linear(3 * 4 * 4, 2))
    g = ModulePrimary(template.double())
    assert sum(p.numel() for p in g.parameters()) == 0  # nothing of g is trainable
    theta = torch.randn(4, g.num_params, dtype=torch.float64)
    x = torch.randn(4, 1, 6, 6, dtype=torch.float64)
    params = split_params(theta, g.param_shapes)
    out = g(params, x)
    for b in range(4):
        h = F.elu(F.conv2d(x[b : b + 1], params["0.weight"][b], params["0.bias"][b]))
        want = F.linear(h.flatten(), params["3.weight"][b], params["3.bias"][b])
        torch.testing.assert_close(out[b], want, rtol=0, atol=1e-10)


def test_module_primary_refuses_buffers():
    with pytest.raises(ValueError, match="buffers"):
        ModulePrimary(nn.BatchNorm1d(3))


def test_split_params_rejects_wrong_size_and_names_the_table():
    g = MLPPrimary(MLPSpec((4, 3, 2)))
    with pytest.raises(ValueError, match=r"expected \(batch, 18\)"):
        split_params(torch.zeros(2, 17), g.param_shapes)


def test_primary_names_the_bad_key():
    g = MLPPrimary(MLPSpec((4, 3, 2)))
    params = split_params(torch.zeros(2, g.num_params), g.param_shapes)
    params["layers.1.weight"] = torch.zeros(2, 3, 2)
    want = r"'layers.1.weight' has shape \(2, 3, 2\); expected \(2, 2, 3\)"
    with pytest.raises(ValueError, match=want):
        g(params, torch.zeros(2, 4))


def test_mnist_depth4_counts_are_the_papers():
    hyper = build_model(paper("hyper", depth=4), Sizes(784, 784, 12))
    emb = build_model(paper("embedding", depth=4), Sizes(784, 784, 12))
    assert hyper.param_counts() == {"f": 922_860, "g_generated": 7_960, "trainable": 922_860}
    assert emb.param_counts() == {"e": 911_750, "q": 86_482, "trainable": 998_232}


@pytest.mark.parametrize("d,depth", [(64, 0), (64, 2), (784, 9), (3072, 4)])
def test_counts_equal_closed_form(d, depth):
    hyper = build_model(paper("hyper", depth=depth), Sizes(d, d, 12)).param_counts()
    emb = build_model(paper("embedding", depth=depth), Sizes(d, d, 12)).param_counts()
    want_h = theory.hyper_params(d, d, depth)
    want_e = theory.embedding_params(d, d, depth)
    assert (hyper["f"], hyper["g_generated"]) == (want_h["f"], want_h["g_generated"])
    assert (emb["e"], emb["q"]) == (want_e["e"], want_e["q"])


def test_embedding_dim_override_is_counted():
    emb = build_model(paper("embedding", depth=3, embedding_dim=30_000), Sizes(64, 64, 12))
    assert emb.param_counts()["e"] == theory.encoder_params(64, 30_000, 100, 3)
    assert emb.param_counts()["q"] == theory.mlp_params((30_064, 10, 12))


def test_embedding_reads_code_then_x():
    e = nn.Linear(3, 2)
    q = nn.Linear(2 + 4, 1)
    model = EmbeddingNetwork(e, q)
    x, instance = torch.randn(5, 4), torch.randn(5, 3)
    want = q(torch.cat([e(instance), x], dim=1))
    torch.testing.assert_close(model(x, instance), want)


def test_hypernetwork_trains_f_through_generated_weights():
    model = HyperNetwork(mlp_encoder(6, 5 * 3 + 3 * 2, depth=1), MLPPrimary(MLPSpec((5, 3, 2))))
    out = model(torch.randn(4, 5), torch.randn(4, 6))
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.f.parameters())


def test_reference_layout_of_generated_weights():
    """theta[:10 d_x] is W1 (10, d_x) row-major, the rest W2 (12, 10): the reference's layout."""
    d = 3
    g = MLPPrimary(MLPSpec((d, 10, 12)))
    theta = torch.arange(g.num_params, dtype=torch.float64)[None]
    p = split_params(theta, g.param_shapes)
    assert torch.equal(p["layers.0.weight"][0], theta[0, : 10 * d].view(10, d))
    assert torch.equal(p["layers.1.weight"][0], theta[0, 10 * d :].view(12, 10))


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="unknown method"):
        paper("hypo")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLPSpec((3, 2), activation="swish")
    with pytest.raises(ValueError, match="depth"):
        paper(depth=-1)


def test_mismatched_batches_are_refused():
    model = build_model(paper("hyper", depth=0), Sizes(4, 4, 12))
    with pytest.raises(ValueError, match="x has 3 samples but I has 2"):
        model(torch.zeros(3, 4), torch.zeros(2, 4))
