"""Dispatch of the observe-family frames a worker sends, and the engine's ``observe.v1`` setup.

The connection's read loop hands a frame here only when the 0.23 decoder did not know it, so
0.23 traffic never pays for it. Frames are applied inline, in arrival order (an owner's re-acks
come before its held reports).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from iii_engine.core.observing import ENGINE_FEATURES, KNOWN_FEATURES, declared_features
from iii_engine.observe.hub import ObserveHub
from iii_engine.observe.owners import Owners
from iii_engine.observe.routed import Activations
from iii_sdk import errors
from iii_sdk.errors import InvocationError, ProtocolError
from iii_sdk.observe_protocol import (
    InvocationsObserved,
    LocalInvocationStats,
    Observe,
    ObserverAck,
    Unobserve,
    decode_observe_frame,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionEntry, FunctionRegistry
    from iii_engine.core.router import Router
    from iii_sdk.plugin import WorkerContext

__all__ = ["ENGINE_FEATURES", "KNOWN_FEATURES", "OBSERVING", "ObserveFrames", "declared_features"]

OBSERVING = "observing"
"""Internal flag (never on the wire): the connection sent observe frames, so it reads the
observer's answers even without declaring ``observe.v1`` (our SDK, which does not own-dispatch)."""


class ObserveFrames:
    """The observe machinery of one engine: hub, activations, owners, frame dispatch.

    The engine hands ``activations`` to the router (``Router.observe``, the
    :class:`~iii_engine.core.observing.ObserveRoute` seam) and this object to the worker table
    (the :class:`~iii_engine.core.observing.WorkerObserver` seam).
    """

    def __init__(self, functions: FunctionRegistry, router: Router) -> None:
        self.hub = ObserveHub(functions)
        self.activations = Activations(self.hub, router)
        self.owners = Owners(self.hub)

    def dispatch(self, conn: Peer, data: bytes) -> bool:
        """Apply one observe-family frame; False when ``data`` is not one."""
        try:
            frame = decode_observe_frame(data)
        except ProtocolError:
            return False
        if OBSERVING not in conn.features:
            conn.features = conn.features | {OBSERVING}  # it reads observeresult & co
        match frame:
            case Observe():
                self.hub.on_observe(conn, frame)
            case Unobserve():
                self.hub.on_unobserve(conn, frame)
            case ObserverAck():
                self.owners.on_ack(conn, frame)
            case InvocationsObserved():
                self.owners.on_report(conn, frame)
            case LocalInvocationStats():
                self.owners.on_stats(conn, frame)
            case _:
                pass  # engine -> worker frames
        return True

    # --- WorkerObserver (iii_engine.core.observing): what the worker table tells us ------------

    def on_worker_registered(self, conn: Peer, function_ids: Collection[str]) -> None:
        """``engine::workers::register`` applied: the owner's features are known."""
        self.owners.on_worker_registered(conn, function_ids)

    def on_function_registered(self, conn: Peer, entry: FunctionEntry) -> None:
        """``conn`` registered ``entry``."""
        self.owners.on_function_registered(conn, entry)

    def on_reattach(self, conn: Peer, previous_worker_id: str, token: str | None) -> None:
        """A worker reconnected with ``reattach``: its observers follow it."""
        self.hub.on_reattach(conn, previous_worker_id, token)

    def on_disconnect(self, conn: Peer) -> None:
        """The connection is gone (its functions were already removed)."""
        self.owners.on_disconnect(conn)
        self.hub.on_disconnect(conn)

    def close(self) -> None:
        """Engine shutdown: stop the observers' timers."""
        self.hub.close()

    def install(self, ctx: WorkerContext) -> None:
        """Register ``engine::observers::get``; ``engine::workers::register`` runs inline."""
        register = self.hub.functions.get("default", "engine::workers::register")
        if register is not None:
            register.extra["inline"] = True  # features apply before the next frame is read
        ctx.register_function(
            "engine::observers::get",
            self.observers_get,
            description="One observer: its definition, state and counters",
        )

    async def observers_get(self, payload: Any) -> dict[str, Any]:
        """``{"id": ...}`` -> ``{"observer": {...}}``."""
        observer_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(observer_id, str):
            raise InvocationError(errors.DESERIALIZATION_ERROR, "missing field `id`")
        row = self.hub.get_info(observer_id)
        if row is None:
            raise InvocationError("NOT_FOUND", f"no observer {observer_id}")
        return {"observer": row}
