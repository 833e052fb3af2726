"""Make a redis client command swallow the cancellation of its task, deterministically.

On Python 3.11 redis-py sends a command under ``asyncio.wait_for`` (its socket timeout), which
returns the command's result instead of raising when the cancellation lands in the same loop
pass as the send completes. Wrapping the command with :func:`swallow_cancellation` gives that
outcome every time: the (real) command always finishes and the cancel is dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["swallow_cancellation"]


def swallow_cancellation(client: Any, command: str) -> asyncio.Event:
    """Wrap ``client.<command>`` so it finishes despite a cancellation; the event marks a call."""
    called = asyncio.Event()
    real = getattr(client, command)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = asyncio.ensure_future(real(*args, **kwargs))
        called.set()
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            return await call

    setattr(client, command, wrapper)
    return called
