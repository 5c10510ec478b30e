"""How a run ended: finished, or diverged (its loss became NaN or infinite) and where."""

from __future__ import annotations

from typing import Any


def diverged_row(epoch: int, last_finite_loss: float | None, seconds: float,
                 samples: int | None = None) -> dict[str, Any]:
    """The metrics row of the epoch whose train loss became NaN or infinite.

    Args:
        epoch: the epoch that diverged (1-based).
        last_finite_loss: the previous epoch's train loss, None if it was the first.
        seconds: how long the epoch trained; samples: how many samples it saw.

    Losses and errors are None (JSON null) rather than NaN, so that result files stay
    strict JSON and summaries can skip them; `diverged` marks the row.
    """
    return {
        "epoch": epoch, "train_loss": None, "test_loss": None, "test_error": None,
        "diverged": True, "last_finite_loss": last_finite_loss, "train_seconds": seconds,
        "samples_per_second": samples / seconds if samples and seconds > 0 else None,
    }


def run_status(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The run-level fields of a result record: status "finished", or "diverged" and where."""
    if history and history[-1].get("diverged"):
        return {"status": "diverged",
                "diverged": {"epoch": history[-1]["epoch"],
                             "last_finite_loss": history[-1].get("last_finite_loss")}}
    return {"status": "finished"}
