"""Which event loop scripts and the engine run on: ``III_LOOP=auto|asyncio|uvloop``.

``auto`` (the default) uses uvloop when it is installed (the ``uvloop`` extra); ``asyncio``
forces the standard loop; ``uvloop`` requires it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

__all__ = ["loop_factory"]


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop factory selected by ``III_LOOP`` (None: the standard asyncio loop)."""
    choice = os.environ.get("III_LOOP", "auto").strip().lower() or "auto"
    if choice == "asyncio":
        return None
    if choice not in ("auto", "uvloop"):
        raise ValueError(f"III_LOOP must be auto, asyncio or uvloop, not {choice!r}")
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    return uvloop.new_event_loop
