"""The engine side of HTTP-invoked functions (protocol.md 3.1.4, workers.md section 9).

A ``registerfunction`` with an ``invocation`` block is handed to the running built-in that is
an :class:`~iii_sdk.external.ExternalFunctionHost` (``iii-http-functions``). The function it
returns is registered as an engine-owned entry remembered as the connection's, so
``unregisterfunction`` or the worker's disconnect removes it. A refusal is only logged, as
upstream does: the function simply does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from iii_engine.core.registry import FunctionEntry, FunctionRegistry
from iii_sdk.external import ExternalFunctionHost, ExternalFunctionRefused

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.workers import WorkerTable
    from iii_sdk.protocol import RegisterFunction

__all__ = ["EXTERNAL", "REFERENCE", "ExternalFunctions"]

log = logging.getLogger("iii.access")

EXTERNAL: Final = "external"
"""Key of ``FunctionEntry.extra`` holding the peer that registered an HTTP function."""
REFERENCE: Final = "invocation"
"""Key of ``FunctionEntry.extra`` holding the function's ``HttpInvocationRef``."""


class ExternalFunctions:
    """HTTP-invoked functions: registered for the peer, served by the running host.

    ``host()`` returns the running :class:`ExternalFunctionHost`, or None when no
    ``iii-http-functions`` worker runs.
    """

    def __init__(
        self,
        functions: FunctionRegistry,
        workers: WorkerTable,
        host: Callable[[], ExternalFunctionHost | None],
    ) -> None:
        self.functions = functions
        self.workers = workers
        self._host = host

    async def register(self, conn: Peer, msg: RegisterFunction) -> None:
        """Register an HTTP-invoked function for ``conn``, or log why not."""
        assert msg.invocation is not None
        host = self._host()
        if host is None:
            log.warning(
                "function %s is HTTP-invoked; no iii-http-functions worker runs here: ignored",
                msg.id,
            )
            return
        try:
            handler = await host.external_function(msg.id, msg.invocation)
        except ExternalFunctionRefused as exc:
            log.error("HTTP function %s from %s refused: %s", msg.id, conn.worker_id, exc)
            return
        if conn.closing:
            return
        existing = self.functions.get(conn.namespace, msg.id)
        if (
            existing is not None
            and existing.owner is not None
            and self.workers.is_live(existing.owner)
        ):
            log.error("HTTP function %s refused: owned by %s", msg.id, existing.owner.worker_id)
            return
        self.functions.put(
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
        self.workers.own(conn, msg.id)

    async def rebind(self, host: ExternalFunctionHost | None) -> None:
        """A (re)started host takes over every HTTP function, checked against its policy again.

        After a hot reload of ``iii-http-functions`` the functions keep working with the new
        session and policy; those the new policy refuses are removed (and logged).
        """
        if host is None:
            return
        for entry in self.functions.all():
            conn = entry.extra.get(EXTERNAL)
            ref = entry.extra.get(REFERENCE)
            if conn is None or ref is None:
                continue
            try:
                entry.handler = await host.external_function(entry.function_id, ref)
            except ExternalFunctionRefused as exc:
                log.error("HTTP function %s removed: %s", entry.function_id, exc)
                self.functions.remove(entry.namespace, entry.function_id, only=entry)
                self.workers.disown(conn, entry.function_id)
