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


def sobolev_rate(eps: float, m: int, r: int) -> float:
    """eps^(-m/r): the order of parameters needed for the Sobolev ball W_{r,m} (Theorem 1)."""
    return eps ** (-m / r)


def embedding_primary_rate(eps: float, m1: int, m2: int) -> float:
    """eps^(-(m1+m2)): the lower-bound order for q of an embedding method on W_{1,m} (Theorem 2)."""
    return eps ** (-(m1 + m2))


def hyper_primary_rate(eps: float, m1: int, r: int) -> float:
    """eps^(-m1/r): the order for g of a hypernetwork whose f may be as large as needed."""
    return eps ** (-m1 / r)
