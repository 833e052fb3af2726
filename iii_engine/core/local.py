"""Routed calls to in-process functions: how they run and how their answer goes back.

A worker's ``invokefunction`` for a function the engine itself provides (``state::get``,
``engine::functions::list``, a plugin's handler) runs on a task of its own, so a slow one never
blocks the caller's read loop. A function may declare ``eager`` (a task only if it suspends) or
``inline`` (awaited on the read loop) in its ``extra``; one that never waits at all takes the
router's immediate path instead (:mod:`iii_engine.core.immediate`). Every run counts against
the caller's ``max_pending_invocations`` until it has answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, Raw, UnsetType

from iii_engine.core.eager import start_eager
from iii_engine.core.immediate import answer_frame, failure
from iii_engine.core.invocation import inject_caller, refuse_over_limit
from iii_engine.core.registry import FunctionEntry
from iii_sdk.observer import CURRENT, Span
from iii_sdk.protocol import ErrorBody, InvokeFunction, from_raw, to_raw

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = ["run_void", "start_local"]

log = logging.getLogger("iii.router")

Spawn = Callable[[Coroutine[Any, Any, None]], None]
Track = Callable[[asyncio.Task[None]], None]


async def start_local(
    entry: FunctionEntry,
    conn: Peer,
    reply_id: str | None,
    msg: InvokeFunction,
    span: Span | None,
    spawn: Spawn,
    track: Track,
) -> None:
    """Run ``entry``'s handler for ``conn``'s call ``msg`` the way the function declared."""
    if conn.pending_count >= conn.max_pending:
        await refuse_over_limit(conn, reply_id, msg.function_id)
        return
    conn.pending_count += 1  # in-process runs count too (each is a task)
    data = inject_caller(msg.data, conn.worker_id)
    run = _run(entry, conn, reply_id, msg, data, span)
    extra = entry.extra
    if not extra:
        spawn(run)
    elif extra.get("eager"):  # a task only if the handler suspends
        start_eager(run, track)
    elif extra.get("inline"):
        await run
    else:
        spawn(run)


async def run_void(entry: FunctionEntry, payload: Any, metadata: Any) -> None:
    """An engine-made void call of an in-process function; a failure is only logged."""
    assert entry.handler is not None
    try:
        await entry.handler(payload, metadata)
    except Exception as exc:
        log.debug("void invocation of %s failed: %s", entry.function_id, exc)


async def _run(
    entry: FunctionEntry,
    conn: Peer,
    reply_id: str | None,
    msg: InvokeFunction,
    data: Raw | UnsetType,
    span: Span | None,
) -> None:
    assert entry.handler is not None
    result: Raw | UnsetType = UNSET
    error: ErrorBody | None = None
    token = None if span is None else CURRENT.set(span)
    try:
        value = await entry.handler(from_raw(data), from_raw(msg.metadata))
        if span is not None:
            span.end()
        if reply_id is None:
            return
        result = to_raw(value) if value is not None else UNSET
    except Exception as exc:
        error = failure(entry, reply_id, span, exc)
        if error is None:
            return
    finally:
        conn.pending_count -= 1
        if token is not None:
            CURRENT.reset(token)
    assert reply_id is not None  # a void call returned above
    await conn.send(answer_frame(entry, reply_id, result, error))
