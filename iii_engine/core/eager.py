"""Start a coroutine eagerly; pay for a task only when it suspends.

Most in-process built-in functions (a state read on the memory store, a lookup in the
registry) finish without ever waiting. Giving each call its own :class:`asyncio.Task` costs a
task object, a context copy and two trips through the event loop. :func:`start_eager` runs the
coroutine's first step at once, in a copy of the current context (exactly what a task would
see), and only if the coroutine suspends does it wrap the rest in a task that resumes it in the
same context. This is Python 3.12's eager task start, emulated for 3.11.

Cancelling the task throws into the suspended coroutine as usual, so ``close`` still stops
in-process calls that wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine, Generator
from typing import Any

__all__ = ["start_eager"]

log = logging.getLogger(__name__)


def start_eager(
    coro: Coroutine[Any, Any, None],
    track: Callable[[asyncio.Task[None]], None],
) -> None:
    """Run ``coro`` until it first suspends; hand the rest to a task passed to ``track``.

    An exception escaping the coroutine's first step is logged and dropped, as it would be in a
    task nobody awaits.
    """
    context = contextvars.copy_context()
    try:
        yielded = context.run(coro.send, None)
    except StopIteration:
        return
    except Exception as exc:
        log.debug("in-process call failed: %r", exc)
        return
    task = asyncio.get_running_loop().create_task(_Resume(coro, yielded), context=context)
    track(task)


class _Resume(Coroutine[Any, Any, None]):
    """The rest of a started coroutine, as a coroutine a task can drive.

    Its first ``send`` hands the task what the coroutine already awaits; a ``throw`` (a cancel
    before the task's first step included) goes straight into the suspended coroutine.
    """

    __slots__ = ("_coro", "_first", "_started")

    def __init__(self, coro: Coroutine[Any, Any, None], first: Any) -> None:
        self._coro = coro
        self._first: Any = first
        self._started = False

    def send(self, value: Any) -> Any:
        if not self._started:
            self._started = True
            return self._first
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._started = True
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)  # pragma: no cover - the legacy signature

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, None]:
        raise TypeError("only its task drives a resumed coroutine")  # pragma: no cover
