"""Tasks whose first step runs at once, inside the task (Python 3.12's eager start, on 3.11).

A worker runs every invocation in its own task, but most handlers answer without ever waiting.
A task normally takes its first step on a later event-loop pass; :func:`start_task` takes it
now, on the caller's stack, so a handler that does not wait is done (and its answer written)
before the next frame of the same socket read is handled, and costs no trip through the loop.

The task is a real :class:`asyncio.Task` created before its coroutine runs, so everything that
looks at the current task sees the same one before and after the first suspension:
``asyncio.current_task()``, ``asyncio.timeout``, task groups, anyio cancel scopes. Its context
is a copy of the caller's, as with ``create_task``.

On 3.12+ this is ``asyncio.Task(..., eager_start=True)``. On 3.11 the task's first step is
taken from the loop's ``call_soon`` while the task is built (the loop instance's attribute is
shadowed for that moment) and run here, with the caller's task stepped aside as the current
task while it runs. A loop whose attributes cannot be shadowed (uvloop's) gets an ordinary
``create_task``.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import weakref
from asyncio import tasks
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["start_task"]

T = TypeVar("T")
K = TypeVar("K")

_EAGER_API = sys.version_info >= (3, 12)
_current: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = getattr(tasks, "_current_tasks", {})
"""asyncio's table of the task each loop is running (what ``current_task`` reads)."""
_SWAPPABLE = all(hasattr(tasks, name) for name in ("_current_tasks", "_enter_task", "_leave_task"))


class _Catcher:
    """Stands in for one loop's ``call_soon`` while a task is built: keeps its first step.

    One per loop (a loop runs in one thread, and loops in several threads may build tasks at
    once), with its bound method made once.
    """

    __slots__ = ("args", "context", "step", "take")

    def __init__(self) -> None:
        self.step: Callable[..., object] | None = None
        self.args: tuple[Any, ...] = ()
        self.context: contextvars.Context | None = None
        self.take = self._take

    def _take(
        self,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> None:
        self.step = callback
        self.args = args
        self.context = context


_catchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Catcher] = (
    weakref.WeakKeyDictionary()
)


async def _tracked(coro: Coroutine[Any, Any, T], table: dict[K, asyncio.Task[Any]], key: K) -> T:
    task = asyncio.current_task()
    assert task is not None
    table[key] = task
    return await coro


def start_task(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, T],
    table: dict[K, asyncio.Task[Any]],
    key: K,
) -> None:
    """Create a task running ``coro``, put it in ``table`` under ``key``, then take its first
    step now.

    The task is in the table before any of its code runs (so code in the first step that looks
    for its own task among the running ones finds it there).
    """
    if _EAGER_API:  # pragma: no cover - the project's interpreter is 3.11
        # 3.12's eager start runs the first step inside the constructor: track from within.
        asyncio.Task(_tracked(coro, table, key), loop=loop, eager_start=True)  # type: ignore[call-arg]
        return
    attributes = getattr(loop, "__dict__", None)
    if attributes is None or "call_soon" in attributes or not _SWAPPABLE:
        table[key] = loop.create_task(coro)
        return
    catcher = _catchers.get(loop)
    if catcher is None:
        catcher = _catchers[loop] = _Catcher()
    attributes["call_soon"] = catcher.take
    try:
        task = asyncio.Task(coro, loop=loop)
    finally:
        del attributes["call_soon"]
    step, args, context = catcher.step, catcher.args, catcher.context
    catcher.step = catcher.context = None
    assert step is not None
    table[key] = task
    caller = _current.get(loop)
    if caller is not None:
        tasks._leave_task(loop, caller)
    try:
        if context is None:
            step(*args)
        else:
            context.run(step, *args)
    finally:
        if caller is not None:
            tasks._enter_task(loop, caller)
