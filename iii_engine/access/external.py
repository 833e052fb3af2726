"""The engine side of HTTP-invoked functions (protocol.md 3.1.4, workers.md section 9).

A ``registerfunction`` with an ``invocation`` block is handed to the running built-in that is
an :class:`~iii_sdk.external.ExternalFunctionHost` (``iii-http-functions``). The function it
returns is registered as an engine-owned entry remembered as the connection's, so
``unregisterfunction`` or the worker's disconnect removes it. A refusal is only logged, as
upstream does: the function simply does not exist.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from iii_engine.core.registry import FunctionEntry
from iii_sdk.external import ExternalFunctionHost, ExternalFunctionRefused

if TYPE_CHECKING:
    from iii_engine.engine import Engine
    from iii_engine.server.connections import WorkerConnection
    from iii_sdk.protocol import RegisterFunction

__all__ = ["EXTERNAL", "REFERENCE", "rebind_external", "register_external"]

log = logging.getLogger("iii.access")

EXTERNAL: Final = "external"
"""Key of ``FunctionEntry.extra`` holding the connection that registered an HTTP function."""
REFERENCE: Final = "invocation"
"""Key of ``FunctionEntry.extra`` holding the function's ``HttpInvocationRef``."""


def _host(engine: Engine) -> ExternalFunctionHost | None:
    for running in engine.builtins.values():
        if isinstance(running.worker, ExternalFunctionHost):
            return running.worker
    return None


async def register_external(engine: Engine, conn: WorkerConnection, msg: RegisterFunction) -> None:
    """Register an HTTP-invoked function for ``conn``, or log why not."""
    assert msg.invocation is not None
    host = _host(engine)
    if host is None:
        log.warning(
            "function %s is HTTP-invoked; no iii-http-functions worker runs here: ignored", msg.id
        )
        return
    try:
        handler = await host.external_function(msg.id, msg.invocation)
    except ExternalFunctionRefused as exc:
        log.error("HTTP function %s from %s refused: %s", msg.id, conn.worker_id, exc)
        return
    if conn.closing:
        return
    existing = engine.functions.get(conn.namespace, msg.id)
    if (
        existing is not None
        and existing.owner is not None
        and engine.workers.is_live(existing.owner)
    ):
        log.error("HTTP function %s refused: owned by %s", msg.id, existing.owner.worker_id)
        return
    engine.functions.put(
        FunctionEntry(
            function_id=msg.id,
            namespace=conn.namespace,
            handler=handler,
            worker_name=conn.name,
            description=msg.description,
            request_format=msg.request_format,
            response_format=msg.response_format,
            metadata=msg.metadata,
            extra={EXTERNAL: conn, REFERENCE: msg.invocation},
        )
    )
    conn.functions.add(msg.id)


async def rebind_external(engine: Engine, host: object) -> None:
    """A (re)started host takes over every HTTP function, checked against its policy again.

    After a hot reload of ``iii-http-functions`` the functions keep working with the new
    session and policy; those the new policy refuses are removed (and logged).
    """
    if not isinstance(host, ExternalFunctionHost):
        return
    for entry in engine.functions.all():
        conn = entry.extra.get(EXTERNAL)
        ref = entry.extra.get(REFERENCE)
        if conn is None or ref is None:
            continue
        try:
            entry.handler = await host.external_function(entry.function_id, ref)
        except ExternalFunctionRefused as exc:
            log.error("HTTP function %s removed: %s", entry.function_id, exc)
            engine.functions.remove(entry.namespace, entry.function_id, only=entry)
            conn.functions.discard(entry.function_id)
