"""hypermod: hypernetworks versus embedding methods, after Galanti and Wolf (NeurIPS 2020)."""

__version__ = "0.1.0"
