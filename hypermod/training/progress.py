"""Progress bars on a terminal only: a redirected log gets the epoch lines, not the bars.

`HYPERMOD_PROGRESS=always` shows bars even when the output is not a terminal (a CI log
that wants them), `never` hides them everywhere; by default they show when standard
error is a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def bars_wanted(enabled: bool = True) -> bool:
    """Whether to draw bars: asked for, and a terminal to draw them on (or forced)."""
    choice = os.environ.get("HYPERMOD_PROGRESS", "auto").lower()
    if not enabled or choice == "never":
        return False
    if choice == "always":
        return True
    return sys.stderr.isatty()


def progress_bar(iterable: Iterable | None = None, enabled: bool = True, **options: Any):
    """A tqdm bar over `iterable`, disabled unless `bars_wanted(enabled)`."""
    return tqdm(iterable, disable=not bars_wanted(enabled), **options)


def say(message: str) -> None:
    """Print a progress line without breaking a bar that is being drawn."""
    tqdm.write(message)
