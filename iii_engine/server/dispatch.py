"""Frame dispatch: each decoded frame from a worker goes to the one core component that owns it.

The engine builds one :class:`FrameDispatcher` and hands it to every connection; the read loop
awaits what :meth:`FrameDispatcher.dispatch` returns before it reads on, so frames are applied
in arrival order. A
connection with an access session has its registration frames filtered first (gates, hooks,
prefix; held until its namespace is known, see :mod:`iii_engine.access`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from iii_engine.access.registration import REGISTRATION_FRAMES
from iii_engine.core.router import Router
from iii_engine.core.trigger_frames import TriggerFrames
from iii_engine.core.workers import WorkerTable
from iii_sdk.errors import ProtocolError
from iii_sdk.protocol import (
    AnyMessage,
    InvocationResult,
    InvokeFunction,
    Ping,
    Pong,
    Reattach,
    RegisterFunction,
    RegisterService,
    RegisterTrigger,
    RegisterTriggerType,
    TriggerRegistrationResult,
    UnregisterFunction,
    UnregisterTrigger,
    UnregisterTriggerType,
    decode,
    encode,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import AccessSession, Peer

__all__ = ["FrameDispatcher"]

log = logging.getLogger("iii.engine")

_PONG = encode(Pong())


class FrameDispatcher:
    """Routes worker frames to the router, the worker table and the trigger frames.

    ``on_telemetry(peer, frame)`` receives ``OTLP``/``MTRC``/``LOGS`` binary frames;
    ``on_unknown(peer, frame)`` gets a frame the 0.23 decoder does not know (0.25's observe
    family) and returns False when it does not know it either.
    """

    def __init__(
        self,
        router: Router,
        workers: WorkerTable,
        trigger_frames: TriggerFrames,
        on_telemetry: Callable[[Peer | None, bytes], None],
        on_unknown: Callable[[Peer, bytes], bool] | None = None,
    ) -> None:
        self.router = router
        self.workers = workers
        self.trigger_frames = trigger_frames
        self.telemetry = on_telemetry
        self.unknown = on_unknown

    def dispatch(self, conn: Peer, data: bytes) -> Coroutine[Any, Any, None] | None:
        """Decode one frame; return the coroutine applying it (None: nothing to apply).

        The read loop awaits it before it reads the next frame, so frames are applied in
        arrival order. Handing the coroutine back instead of awaiting it here saves every frame
        one coroutine; the two invocation frames go straight to the router (the hot path).
        """
        try:
            message = decode(data)
        except ProtocolError as exc:
            if self.unknown is not None and self.unknown(conn, data):
                return None
            if data.strip():
                conn.report_bad_frame(exc)
            return None
        session = conn.session
        if session is not None and type(message) in REGISTRATION_FRAMES:
            return self._filtered(session, conn, message)
        if type(message) is InvokeFunction:
            return self.router.on_invoke(conn, message)
        if type(message) is InvocationResult:
            return self.router.on_result(conn, message, data)
        return self.apply(conn, message)

    async def _filtered(self, session: AccessSession, conn: Peer, message: AnyMessage) -> None:
        """A registration frame of a connection with an access session: filtered first."""
        filtered = await session.filter_registration(conn, message)
        if filtered is not None:  # else held, or denied silently by a gate or a hook
            await self.apply(conn, filtered)

    async def apply(self, conn: Peer, message: AnyMessage) -> None:
        """Apply any frame but the two invocation ones, which :meth:`dispatch` routes itself.

        The access layer also calls this for a registration frame held until the namespace
        was known (protocol.md 2.4).
        """
        match message:
            case RegisterFunction():
                await self.workers.register_function(conn, message)
            case UnregisterFunction():
                self.workers.unregister_function(conn, message.id)
            case RegisterTrigger():
                await self.trigger_frames.on_register_trigger(conn, message)
            case UnregisterTrigger():
                await self.trigger_frames.on_unregister_trigger(conn, message)
            case RegisterTriggerType():
                await self.trigger_frames.on_register_trigger_type(conn, message)
            case UnregisterTriggerType():
                await self.trigger_frames.on_unregister_trigger_type(conn, message)
            case TriggerRegistrationResult():
                await self.trigger_frames.on_registration_result(conn, message)
            case Ping():
                await conn.send(_PONG)
            case Reattach():
                await self.workers.reattach(conn, message)
            case RegisterService():
                self.workers.register_service(conn, message)
            case _:
                pass  # pong, and frames only the engine sends
