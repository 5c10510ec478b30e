"""Closed forms: parameter counts of the paper's architectures and its complexity rates.

Numbers in, numbers out; no torch. The counts are written independently of the model
code so that tests can hold one against the other.
"""

from __future__ import annotations


def linear_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Parameters of one fully connected layer."""
    return n_in * n_out + (n_out if bias else 0)


def mlp_params(widths: tuple[int, ...] | list[int], bias: bool = True) -> int:
    """Parameters of an MLP with the given layer widths."""
    return sum(linear_params(a, b, bias) for a, b in zip(widths[:-1], widths[1:]))


def encoder_params(d_in: int, d_out: int, hidden: int = 100, depth: int = 4) -> int:
    """The reference encoder: d_in -> hidden, `depth` x (hidden -> hidden), hidden -> d_out."""
    return linear_params(d_in, hidden) + depth * linear_params(hidden, hidden) + linear_params(
        hidden, d_out
    )


def primary_generated(d_x: int, hidden: int = 10, outputs: int = 12) -> int:
    """Weights of the bias-free g: d_x -> hidden -> outputs, generated per instance."""
    return mlp_params((d_x, hidden, outputs), bias=False)


def hyper_params(
    d_instance: int, d_x: int, depth: int = 4, hidden: int = 100, primary_hidden: int = 10,
    outputs: int = 12,
) -> dict[str, int]:
    """Trainable parameters of f and the weights it generates for g (the paper's preset)."""
    generated = primary_generated(d_x, primary_hidden, outputs)
    return {"f": encoder_params(d_instance, generated, hidden, depth), "g_generated": generated}


def embedding_params(
    d_instance: int, d_x: int, depth: int = 4, hidden: int = 100, primary_hidden: int = 10,
    outputs: int = 12, embedding_dim: int | None = None,
) -> dict[str, int]:
    """Trainable parameters of e and q; E defaults to the reference's 10 d_x + 10."""
    dim = embedding_dim if embedding_dim is not None else primary_hidden * d_x + primary_hidden
    return {
        "e": encoder_params(d_instance, dim, hidden, depth),
        "q": mlp_params((dim + d_x, primary_hidden, outputs)),
    }


def shallow_params(d_in: int, width: int, outputs: int = 10) -> int:
    """One-hidden-layer network d_in -> width -> outputs with biases (the assumption checks)."""
    return mlp_params((d_in, width, outputs))


# Complexity bounds as numbers. Each is an order of growth, c * eps^-a: the paper gives
# the exponent a and leaves the constant c unknown (it depends on the activation, the
# norm and the ball's radius), so c is an explicit argument, 1 by default; compare
# slopes across eps, not absolute counts. eps is the approximation error in (0, 1].


def _check_bound_args(eps: float, r: float, *dims: int) -> None:
    if not 0 < eps <= 1:
        raise ValueError(f"eps must lie in (0, 1], got {eps}")
    if not r > 0:
        raise ValueError(f"r must be positive, got {r}")
    if any(d < 1 for d in dims):
        raise ValueError(f"dimensions must be >= 1, got {dims}")


def sobolev_lower_bound(eps: float, m: int, r: float = 1.0, constant: float = 1.0) -> float:
    """Theorem 1: any network approximating all of W_{r,m} to eps needs
    Omega(eps^(-m/r)) parameters; returns constant * eps^(-m/r)."""
    _check_bound_args(eps, r, m)
    return constant * eps ** (-m / r)


def embedding_primary_lower_bound(eps: float, m1: int, m2: int, r: float = 1.0,
                                  constant: float = 1.0) -> float:
    """Theorem 2: the embedding method's q needs Omega(eps^(-(m1+m2))) parameters on
    W_{1,m1+m2}, however large e is (Theorem 3 lets the embedding size grow). Stated
    for r = 1; for r != 1 this returns constant *
    eps^(-(m1+m2)/r), the rate the issue predicts (Theorem 1's rate for q's input
    dimension), which the paper does not prove."""
    _check_bound_args(eps, r, m1, m2)
    return constant * eps ** (-(m1 + m2) / r)


def hyper_primary_upper_bound(eps: float, m1: int, r: float = 1.0,
                              constant: float = 1.0) -> float:
    """The hypernetwork's g needs only O(eps^(-m1/r)) parameters on W_{r,m1+m2} when f
    may be as large as needed (the paper's upper bound for g); constant * eps^(-m1/r)."""
    _check_bound_args(eps, r, m1)
    return constant * eps ** (-m1 / r)


def primary_ratio(eps: float, m1: int, m2: int, r: float = 1.0, constant_q: float = 1.0,
                  constant_g: float = 1.0) -> float:
    """N_q / N_g predicted by Theorems 2 and the g bound: (c_q / c_g) eps^(-m2/r).
    It grows without limit as eps shrinks, by a factor 10^(m2/r) per decade of eps."""
    return (embedding_primary_lower_bound(eps, m1, m2, r, constant_q)
            / hyper_primary_upper_bound(eps, m1, r, constant_g))


def predicted_exponents(m1: int, m2: int, r: float = 1.0) -> dict[str, float]:
    """The exponent a of N ~ eps^-a for each network the scaling experiment sizes:
    g (m1/r), q ((m1+m2)/r; proven for r = 1) and a plain network on [x, I] ((m1+m2)/r,
    Theorem 1)."""
    _check_bound_args(1.0, r, m1, m2)
    return {"hyper": m1 / r, "embedding": (m1 + m2) / r, "mlp": (m1 + m2) / r}


def structured_totals(eps: float, m1: int, m2: int, r: float = 1.0, primary: int = 10,
                      embedding_dim: int | None = None,
                      constant: float = 1.0) -> dict[str, float]:
    """Trainable parameters to reach eps on y = g*(x; f*(I)), f* in W_{r,m2}, g* a fixed
    network with `primary` weights: the comparison the paper makes for such targets,
    written out here with the rates above (our derivation; orders only).

    hyper: g = g* exactly, and f approximates each of g*'s `primary` weights as a
    function in W_{r,m2}: primary + primary * c eps^(-m2/r). mlp: y as a generic member
    of W_{r,m1+m2} (Theorem 1): c eps^(-(m1+m2)/r). embedding: e approximates
    `embedding_dim` (default m2) functions in W_{r,m2}, and q is bounded below by
    Theorem 2: E c eps^(-m2/r) + c eps^(-(m1+m2)/r). These are orders with a shared
    unknown constant, not exact counts; the hypernetwork's total grows like
    eps^(-m2/r), the others like eps^(-(m1+m2)/r).
    """
    _check_bound_args(eps, r, m1, m2, primary)
    dim = m2 if embedding_dim is None else embedding_dim
    encoder = constant * eps ** (-m2 / r)
    joint = sobolev_lower_bound(eps, m1 + m2, r, constant)
    return {"hyper": primary + primary * encoder, "embedding": dim * encoder + joint,
            "mlp": joint}


def bounds_table(eps_values: list[float], m1: int, m2: int, r: float = 1.0,
                 constant: float = 1.0, primary: int = 10) -> list[dict[str, float]]:
    """One row per eps: every bound above, for `hypermod bounds`."""
    rows = []
    for eps in eps_values:
        totals = structured_totals(eps, m1, m2, r, primary, constant=constant)
        rows.append({
            "eps": eps,
            "any_network": sobolev_lower_bound(eps, m1 + m2, r, constant),
            "q_lower": embedding_primary_lower_bound(eps, m1, m2, r, constant),
            "g_upper": hyper_primary_upper_bound(eps, m1, r, constant),
            "ratio_q_g": primary_ratio(eps, m1, m2, r, constant, constant),
            "total_hyper": totals["hyper"],
            "total_embedding": totals["embedding"],
            "total_mlp": totals["mlp"],
        })
    return rows
