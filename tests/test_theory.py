"""The complexity bounds: hand-computed values, monotonicity, and argument checks."""

import math

import pytest

from hypermod import theory


def test_bounds_equal_hand_computed_values():
    assert theory.sobolev_lower_bound(0.1, 2, 1) == pytest.approx(100)
    assert theory.sobolev_lower_bound(0.01, 3, 2) == pytest.approx(1000)  # 0.01^-1.5
    assert theory.sobolev_lower_bound(0.5, 4, 2, constant=3) == pytest.approx(12)
    assert theory.embedding_primary_lower_bound(0.1, 1, 2) == pytest.approx(1000)
    assert theory.embedding_primary_lower_bound(0.1, 1, 2, r=2) == pytest.approx(10 ** 1.5)
    assert theory.hyper_primary_upper_bound(0.5, 2) == pytest.approx(4)
    assert theory.hyper_primary_upper_bound(0.25, 2, r=2, constant=0.5) == pytest.approx(2)
    assert theory.primary_ratio(0.1, 1, 2) == pytest.approx(100)  # eps^-m2
    assert theory.primary_ratio(0.01, 3, 4, r=2, constant_q=6, constant_g=2) == \
        pytest.approx(3 * 1e4)
    assert theory.predicted_exponents(2, 4, 2) == {"hyper": 1, "embedding": 3, "mlp": 3}


def test_structured_totals_by_hand():
    totals = theory.structured_totals(0.1, 1, 2, 1, primary=10)
    assert totals["hyper"] == pytest.approx(10 + 10 * 100)   # g* + f: 10 functions of I
    assert totals["embedding"] == pytest.approx(2 * 100 + 1000)  # E = m2 functions + q
    assert totals["mlp"] == pytest.approx(1000)
    assert theory.structured_totals(0.1, 1, 2, embedding_dim=5)["embedding"] == \
        pytest.approx(5 * 100 + 1000)


@pytest.mark.parametrize("m1,m2,r", [(1, 1, 1.0), (2, 3, 1.0), (3, 2, 2.0)])
def test_each_bound_grows_tenfold_finer_eps_by_its_exponent(m1, m2, r):
    """A tenth of the error costs 10^a times the parameters, a as the theorems state."""
    def growth(bound):
        return math.log10(bound(0.001) / bound(0.01))

    assert growth(lambda e: theory.sobolev_lower_bound(e, m1 + m2, r)) == \
        pytest.approx((m1 + m2) / r)
    assert growth(lambda e: theory.embedding_primary_lower_bound(e, m1, m2)) == \
        pytest.approx(m1 + m2)
    assert growth(lambda e: theory.hyper_primary_upper_bound(e, m1, r)) == pytest.approx(m1 / r)


EPS = [0.9, 0.5, 0.2, 0.1, 0.03, 0.01, 0.001]
BOUNDS = {
    "sobolev": lambda eps, m1, m2, r: theory.sobolev_lower_bound(eps, m1 + m2, r),
    "q": lambda eps, m1, m2, r: theory.embedding_primary_lower_bound(eps, m1, m2, r),
    "g": lambda eps, m1, m2, r: theory.hyper_primary_upper_bound(eps, m1, r),
    "ratio": lambda eps, m1, m2, r: theory.primary_ratio(eps, m1, m2, r),
    "total_hyper": lambda eps, m1, m2, r: theory.structured_totals(eps, m1, m2, r)["hyper"],
    "total_mlp": lambda eps, m1, m2, r: theory.structured_totals(eps, m1, m2, r)["mlp"],
}


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_bounds_grow_as_eps_shrinks(name):
    bound = BOUNDS[name]
    for m1, m2, r in [(1, 1, 1), (2, 4, 1), (1, 2, 2.5)]:
        values = [bound(eps, m1, m2, r) for eps in EPS]
        assert all(b > a for a, b in zip(values, values[1:])), (name, m1, m2, r, values)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_bounds_grow_with_dimension_and_fall_with_smoothness(name):
    bound, eps = BOUNDS[name], 0.05
    if name not in ("g",):  # g does not depend on m2
        assert bound(eps, 1, 3, 1) > bound(eps, 1, 2, 1)
    if name not in ("ratio", "total_hyper"):  # these do not depend on m1
        assert bound(eps, 3, 2, 1) > bound(eps, 2, 2, 1)
    assert bound(eps, 2, 2, 1) > bound(eps, 2, 2, 2) > bound(eps, 2, 2, 3)


def test_the_hypernetwork_needs_fewer_primary_parameters_below_eps_one():
    for eps in EPS:
        assert theory.hyper_primary_upper_bound(eps, 2) < \
            theory.embedding_primary_lower_bound(eps, 2, 1)
    # the gap grows like eps^-m2: one decade of eps multiplies it by 10^m2
    assert theory.primary_ratio(0.01, 1, 3) / theory.primary_ratio(0.1, 1, 3) == \
        pytest.approx(1000)


@pytest.mark.parametrize("eps,r,dims", [(0, 1, (1,)), (1.5, 1, (1,)), (-0.1, 1, (1,)),
                                         (0.1, 0, (1,)), (0.1, -1, (1,)), (0.1, 1, (0,))])
def test_bad_arguments_are_refused(eps, r, dims):
    with pytest.raises(ValueError):
        theory.sobolev_lower_bound(eps, dims[0], r)


def test_bounds_table_rows():
    rows = theory.bounds_table([0.1, 0.01], 1, 2, r=1, constant=2)
    assert [row["eps"] for row in rows] == [0.1, 0.01]
    assert rows[0]["any_network"] == pytest.approx(2000)
    assert rows[1]["g_upper"] == pytest.approx(200)
    assert rows[1]["ratio_q_g"] == pytest.approx(1e4)
    assert math.isclose(rows[0]["total_mlp"], rows[0]["any_network"])


def test_bounds_command_prints_the_table_and_draws_the_curves(tmp_path, capsys):
    from hypermod.cli import main

    figure = tmp_path / "bounds.png"
    assert main(["bounds", "--m1", "1", "--m2", "2", "--eps", "0.1", "0.01", "--plot",
                 str(figure)]) == 0
    out = capsys.readouterr().out
    assert "hypernetwork g 1; N_q/N_g ~ eps^-2" in out
    lines = [line.split() for line in out.splitlines() if line.strip().startswith("0.")]
    assert [line[:5] for line in lines] == [["0.1", "1e+03", "1e+03", "10", "100"],
                                           ["0.01", "1e+06", "1e+06", "100", "1e+04"]]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["bounds", "--eps", "2"]) == 2
    assert "eps must lie in (0, 1]" in capsys.readouterr().err
