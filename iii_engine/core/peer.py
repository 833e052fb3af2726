"""What the core sees of a connected worker: :class:`Peer`.

The socket server implements it (:class:`iii_engine.server.connections.WorkerConnection`); the
registries, the router and the worker table only type against this protocol, so the core never
imports the server. Registries keep their own maps from a peer to what it registered; a peer
carries only its identity, its self-reported metadata and its sends.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from iii_sdk.protocol import AnyMessage, InvokeFunction

__all__ = ["AccessSession", "Chunk", "Peer"]

Chunk = bytes | memoryview


class AccessSession(Protocol):
    """What the core sees of a peer's access session (listeners with ``rbac`` or middleware;
    implemented by :class:`iii_engine.access.session.Session`).

    An ``entry`` is a :class:`iii_engine.core.registry.FunctionEntry` (typed ``Any`` here:
    the registry imports this module, and no import cycle is allowed).
    """

    prefix: str | None
    """The session's function registration prefix (protocol.md 8.6), if any."""

    async def intercept(self, peer: Peer, msg: InvokeFunction, entry: Any, namespace: str) -> bool:
        """Check a call the peer's ``allowed`` cache did not allow; True when answered here."""
        ...

    def visible(self, entry: Any) -> bool:
        """Discovery visibility: the session may call ``entry``."""
        ...

    def decide(self, function_id: str, namespace: str, metadata: Any) -> str | None:
        """The session's function-access decision: None when allowed, else why not."""
        ...

    async def filter_registration(self, peer: Peer, message: AnyMessage) -> AnyMessage | None:
        """The registration frame to apply (possibly rewritten), or None (dropped or held)."""
        ...


class Peer(Protocol):
    """A connected worker, as the core uses it."""

    worker_id: str
    """The id the engine gave the connection (``workerregistered``)."""
    reattach_token: str
    """The secret a reconnecting worker proves itself with (``reattach``)."""
    namespace: str
    ip_address: str | None
    connected_at_ms: int
    info: dict[str, Any]
    """Metadata reported through ``engine::workers::register``."""
    features: frozenset[str]
    """0.25 features declared in ``engine::workers::register`` (``observe.v1``, ...)."""
    max_inbound: int | None
    """Largest message this worker reads, when below the engine's 64 MiB
    (:mod:`iii_engine.core.sizes`); None for no limit below the engine's."""
    closing: bool
    """Set once disconnect cleanup has started."""
    session: AccessSession | None
    """The access session the listener gave the connection (None: no checks at all)."""
    allowed: dict[Any, bool] | None
    """``session``'s cache of the ``FunctionEntry`` objects it may call directly (the router's
    one lookup per call)."""
    pending_count: int
    """Calls this peer made that have not been answered (kept by the router)."""
    max_pending: int
    """The listener's ``max_pending_invocations``."""
    cleaned: asyncio.Future[None]
    """Resolved when disconnect cleanup has finished."""

    @property
    def name(self) -> str | None:
        """The self-reported worker name, if any."""
        ...

    @property
    def pid(self) -> int | None:
        """The self-reported process id, if any."""
        ...

    async def send(self, frame: bytes) -> bool:
        """Send one encoded frame; False when the socket is gone."""
        ...

    async def send_parts(self, parts: tuple[Chunk, ...]) -> bool:
        """Send one frame given as chunks; False when the socket is gone."""
        ...

    def post(self, frame: bytes) -> None:
        """Queue a frame without waiting (fire-and-forget)."""
        ...

    async def send_void(self, frame: bytes) -> None:
        """:meth:`send` for use as a fire-and-forget task."""
        ...

    async def send_error(self, invocation_id: str, function_id: str, code: str, msg: str) -> None:
        """Answer an invocation with an error body."""
        ...

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close the socket (its read loop ends and cleanup runs)."""
        ...

    def report_bad_frame(self, error: object) -> None:
        """Log a frame from this peer that was ignored (truncated, rate-limited per peer)."""
        ...

    def stop_reading(self) -> None:
        """Stop the read loop before the next frame (``reattach`` eviction)."""
        ...
