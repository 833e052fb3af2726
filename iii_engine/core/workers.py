"""Connected workers: admission, function ownership, names, reattach and cleanup.

Implements docs/protocol.md sections 2 and 3.1: first live owner of a function wins, one live
worker per name, ``reattach`` evicts a previous connection, and disconnect cleanup runs once,
in upstream's order.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from iii_engine.core.registry import DEFAULT_NAMESPACE, FunctionEntry, FunctionRegistry
from iii_engine.core.worker_log import WorkerLog
from iii_sdk import errors
from iii_sdk.protocol import (
    Reattach,
    RegisterFunction,
    RegisterService,
    RegistrationRejectedFrame,
    WorkerRegistered,
    encode,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.router import Router
    from iii_engine.core.triggers import TriggerRegistry

__all__ = ["NamespaceHooks", "WorkerTable", "sanitize_name"]

log = logging.getLogger("iii.engine")

REATTACH_WAIT_S = 5.0
CLEANUP_BATCH = 1000
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def sanitize_name(value: Any) -> str | None:
    """Self-reported names: control/bidi characters stripped, 280 chars, trimmed, empty=None."""
    if not isinstance(value, str):
        return None
    kept = "".join(
        c for c in value if c not in _BIDI and unicodedata.category(c) not in ("Cc", "Cf")
    )
    kept = kept[:280].strip()
    return kept or None


def _registered_by(entry: FunctionEntry, conn: Peer) -> bool:
    """``conn`` owns the entry, or registered it as an HTTP function."""
    return entry.owner is conn or entry.extra.get("external") is conn


class NamespaceHooks(Protocol):
    """What ``engine::workers::register`` asks about namespaces (protocol.md 2.3-2.4)."""

    async def declare(self, conn: Peer, declared: str | None) -> None:
        """Fix ``conn``'s namespace (``declared``, or ``default`` when None)."""
        ...

    async def release(self, conn: Peer) -> None:
        """Apply the registrations ``conn`` sent before its namespace was known."""
        ...


class _FixedNamespaces(NamespaceHooks):
    """Without namespace support every worker stays where it is."""

    async def declare(self, conn: Peer, declared: str | None) -> None:
        return None

    async def release(self, conn: Peer) -> None:
        return None


class WorkerTable:
    """Every live connection, the worker-name leases, the services map and who owns what.

    ``drop_channels(worker_id)`` removes the data channels a disconnected worker owned;
    ``spawn(coro)`` runs a background task owned by the engine. ``namespaces`` decides the
    namespace a worker declares (:class:`NamespaceHooks`); ``register_external(peer, msg)``
    takes a ``registerfunction`` with an ``invocation`` block (HTTP-invoked functions).
    """

    def __init__(
        self,
        functions: FunctionRegistry,
        router: Router,
        triggers: TriggerRegistry,
        *,
        drop_channels: Callable[[str], None],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        namespaces: NamespaceHooks | None = None,
        register_external: Callable[[Peer, RegisterFunction], Awaitable[None]] | None = None,
    ) -> None:
        self.functions = functions
        self.router = router
        self.triggers = triggers
        self._drop_channels = drop_channels
        self._spawn = spawn
        self._namespaces: NamespaceHooks = namespaces or _FixedNamespaces()
        self._external = register_external
        self.connections: dict[str, Peer] = {}
        self.names: dict[tuple[str, str], Peer] = {}
        self.services: dict[tuple[str, str], set[str]] = {}
        self._functions_of: dict[Peer, set[str]] = {}
        self.log = WorkerLog()

    def function_count(self, conn: Peer) -> int:
        """How many functions ``conn`` has registered."""
        return len(self._functions_of.get(conn, ()))

    def is_live(self, conn: Peer | None) -> bool:
        """Registered and not tearing down."""
        return (
            conn is not None and not conn.closing and self.connections.get(conn.worker_id) is conn
        )

    # --- connect / disconnect --------------------------------------------------------------------

    async def admit(self, conn: Peer) -> None:
        """Admission (docs/protocol.md section 2.1): file it, greet it, announce it."""
        self.connections[conn.worker_id] = conn
        await conn.send(
            encode(WorkerRegistered(worker_id=conn.worker_id, reattach_token=conn.reattach_token))
        )
        self.log.socket_open(conn)
        observer = self.router.observer
        if observer is not None:
            observer.on_worker(True)
        self.triggers.fire(
            "engine::workers-available", {"event": "worker_connected", "worker_id": conn.worker_id}
        )

    async def cleanup(self, conn: Peer) -> None:
        """Disconnect cleanup (docs/protocol.md 2.6); runs once, later callers wait for it."""
        if conn.closing:
            await asyncio.shield(conn.cleaned)
            return
        conn.closing = True
        try:
            functions = self.functions
            for n, function_id in enumerate(list(self._functions_of.get(conn, ())), 1):
                entry = functions.get(conn.namespace, function_id)
                if entry is not None and _registered_by(entry, conn):
                    functions.remove(conn.namespace, function_id, only=entry)
                    self.drop_service_member(conn.namespace, function_id)
                if n % CLEANUP_BATCH == 0:
                    await asyncio.sleep(0)  # a worker with 10,000 functions must not stall the loop
            self._functions_of.pop(conn, None)
            for caller, frame in self.router.stop_invocations(conn):
                await caller.send(frame)
            await self.triggers.drop_connection(conn)
            self._drop_channels(conn.worker_id)
            name = conn.name
            if name is not None and self.names.get((conn.namespace, name)) is conn:
                del self.names[(conn.namespace, name)]
            if self.connections.get(conn.worker_id) is conn:
                del self.connections[conn.worker_id]
            self.log.disconnected(conn)
            observer = self.router.observer
            if observer is not None:
                observer.on_worker(False)
            self.triggers.fire(
                "engine::workers-available",
                {"event": "worker_disconnected", "worker_id": conn.worker_id},
            )
        finally:
            if not conn.cleaned.done():
                conn.cleaned.set_result(None)

    async def reattach(self, conn: Peer, msg: Reattach) -> None:
        """Evict the previous connection of a reconnecting worker (docs/protocol.md section 2.5)."""
        previous_id = msg.previous_worker_id
        if not _UUID.fullmatch(previous_id) or previous_id == conn.worker_id:
            return
        previous = self.connections.get(previous_id)
        if previous is None or msg.reattach_token != previous.reattach_token:
            return
        previous.stop_reading()
        self._spawn(previous.close())
        try:
            async with asyncio.timeout(REATTACH_WAIT_S):
                await asyncio.shield(previous.cleaned)
        except TimeoutError:
            pass
        if not previous.cleaned.done():
            await self.cleanup(previous)

    # --- functions -------------------------------------------------------------------------------

    async def register_function(self, conn: Peer, msg: RegisterFunction) -> None:
        """``registerfunction`` with first-live-owner-wins (docs/protocol.md section 3.1.1)."""
        namespace = conn.namespace
        function_id = msg.id
        if msg.invocation is not None:
            if self._external is None:
                log.warning(
                    "function %s is HTTP-invoked; no iii-http-functions worker runs here: ignored",
                    function_id,
                )
            else:
                await self._external(conn, msg)
            return
        if function_id.startswith("engine::") and namespace != DEFAULT_NAMESPACE:
            await self._reject_function(conn, function_id, "")
            return
        functions = self.functions
        existing = functions.get(namespace, function_id)
        if existing is not None and existing.owner is None:
            # Served in process by the engine or a built-in worker: never displaced.
            await self._reject_function(conn, function_id, existing.worker_name or "iii-engine")
            return
        if (
            existing is not None
            and existing.owner is not None
            and existing.owner is not conn
            and self.is_live(existing.owner)
        ):
            await self._reject_function(conn, function_id, existing.owner.worker_id)
            return
        if existing is not None and existing.owner is not conn:
            log.warning("function %s re-registered by worker %s", function_id, conn.worker_id)
        entry = FunctionEntry(
            function_id=function_id,
            namespace=namespace,
            owner=conn,
            description=msg.description,
            request_format=msg.request_format,
            response_format=msg.response_format,
            metadata=msg.metadata,
        )
        session = conn.session
        prefix = None if session is None else session.prefix
        if prefix is not None and function_id.startswith(prefix + "::"):
            entry.extra["delivered_as"] = function_id[len(prefix) + 2 :]  # protocol.md 8.6
        functions.put(entry)
        self.own(conn, function_id)
        self.add_service_member(namespace, function_id)

    def own(self, conn: Peer, function_id: str) -> None:
        """Record ``conn`` as the registrant of ``function_id`` (removed at its disconnect)."""
        self._functions_of.setdefault(conn, set()).add(function_id)

    def disown(self, conn: Peer, function_id: str) -> None:
        """Forget that ``conn`` registered ``function_id``."""
        owned = self._functions_of.get(conn)
        if owned is not None:
            owned.discard(function_id)

    def functions_of(self, conn: Peer) -> list[str]:
        """The ids ``conn`` registered (a copy)."""
        return list(self._functions_of.get(conn, ()))

    def add_service_member(self, namespace: str, function_id: str) -> None:
        """File ``svc::name`` under its service ``svc``."""
        if "::" in function_id:
            service = function_id.split("::", 1)[0]
            self.services.setdefault((namespace, service), set()).add(function_id)

    def unregister_function(self, conn: Peer, function_id: str) -> None:
        """``unregisterfunction``: only the recorded owner may remove it."""
        entry = self.functions.get(conn.namespace, function_id)
        if entry is not None and _registered_by(entry, conn):
            self.functions.remove(conn.namespace, function_id, only=entry)
            self.drop_service_member(conn.namespace, function_id)
        self.disown(conn, function_id)

    def register_service(self, conn: Peer, msg: RegisterService) -> None:
        """``registerservice``: bookkeeping only."""
        self.services.setdefault((conn.namespace, msg.id), set())

    async def _reject_function(self, conn: Peer, function_id: str, owner: str) -> None:
        log.warning("rejected function %s from %s: owned by %r", function_id, conn.worker_id, owner)
        await conn.send(
            encode(
                RegistrationRejectedFrame(
                    code=errors.FUNCTION_NAMESPACE_CONFLICT,
                    namespace=conn.namespace,
                    function_id=function_id,
                    owner_worker_id=owner,
                )
            )
        )

    def drop_service_member(self, namespace: str, function_id: str) -> None:
        """Remove ``function_id`` from its service (the service goes with its last member)."""
        if "::" not in function_id:
            return
        key = (namespace, function_id.split("::", 1)[0])
        members = self.services.get(key)
        if members is not None:
            members.discard(function_id)
            if not members:
                del self.services[key]

    # --- engine::workers::register ---------------------------------------------------------------

    async def register_worker(self, payload: Any) -> dict[str, bool]:
        """``engine::workers::register`` (docs/protocol.md section 2.3)."""
        if not isinstance(payload, dict):
            raise errors.InvocationError(
                errors.DESERIALIZATION_ERROR,
                "Failed to deserialize input for engine::workers::register: expected an object",
            )
        conn = self.connections.get(str(payload.get("_caller_worker_id")))
        if conn is None:
            raise errors.InvocationError(
                errors.DESERIALIZATION_ERROR,
                "Failed to deserialize input for engine::workers::register: "
                "missing field `_caller_worker_id`",
            )
        declared = payload.get("namespace")
        if isinstance(declared, str) and not declared.strip():
            raise errors.InvocationError(errors.INVALID_NAMESPACE, "namespace must not be blank")
        await self._namespaces.declare(conn, declared if isinstance(declared, str) else None)
        name = sanitize_name(payload.get("name"))
        if name is not None:
            holder = self.names.get((conn.namespace, name))
            if holder is not None and holder is not conn and self.is_live(holder):
                await conn.send(
                    encode(
                        RegistrationRejectedFrame(
                            code=errors.WORKER_NAMESPACE_CONFLICT,
                            namespace=conn.namespace,
                            worker_name=name,
                            owner_worker_id=holder.worker_id,
                        )
                    )
                )
                self._spawn(conn.close())
                return {"success": False}
            previous_name = conn.name
            if (
                previous_name is not None
                and self.names.get((conn.namespace, previous_name)) is conn
            ):
                del self.names[(conn.namespace, previous_name)]
            self.names[(conn.namespace, name)] = conn
        previous = conn.name
        self._store_info(conn, payload, name)
        self.log.registered(conn, previous)
        await self._namespaces.release(conn)
        self.triggers.fire(
            "engine::workers-available",
            {"event": "worker_metadata_updated", "worker_id": conn.worker_id},
        )
        return {"success": True}

    @staticmethod
    def _store_info(conn: Peer, payload: dict[str, Any], name: str | None) -> None:
        info = conn.info
        runtime = payload.get("runtime")
        info["runtime"] = runtime if isinstance(runtime, str) else info.get("runtime", "unknown")
        info["version"] = payload.get("version")
        info["telemetry"] = payload.get("telemetry")
        if name is not None:
            info["name"] = name
        description = sanitize_name(payload.get("description"))
        if description is not None:
            info["description"] = description
        for key in ("os", "pid", "isolation", "namespace"):
            if payload.get(key) is not None:
                info[key] = payload[key]
