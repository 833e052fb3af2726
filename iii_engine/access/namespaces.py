"""Which namespace a connection's registrations live in (protocol.md sections 2.3-2.4).

A connection learns its namespace from ``engine::workers::register``; after
``registration_namespace_grace_ms`` (env ``III_NAMESPACE_GRACE_MS``) without one it is
``default``, and a later declaration is ignored with a warning, as upstream does.

* Sessions of listeners with ``rbac`` get upstream's buffering: registration frames are held
  until the namespace is fixed, then applied in order (frames arriving meanwhile join the
  queue), so hooks and grants see the namespace the registrations will live in.
* Elsewhere registrations are applied at once in ``default`` and moved when the worker
  declares another namespace within the grace period, so a worker that never declares one (raw
  clients, scripts) is served without waiting out the grace period. The end state is
  upstream's.

The per-connection state (whether the namespace is fixed, the held frames of a session) is
kept here and in the session, not on the connection. Which namespaces an authenticated
session may declare is checked on the invoke path
(:meth:`iii_engine.access.session.Session.intercept`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from iii_engine.access.external import EXTERNAL
from iii_engine.access.registration import admit_registration
from iii_engine.core.remote import RemoteTriggerType
from iii_engine.core.workers import NamespaceHooks
from iii_sdk import errors
from iii_sdk.protocol import AnyMessage, RegistrationRejectedFrame, encode

if TYPE_CHECKING:
    from iii_engine.access.session import Session
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionRegistry
    from iii_engine.core.triggers import TriggerRegistry
    from iii_engine.core.workers import WorkerTable

__all__ = ["Namespaces", "grace_seconds"]

log = logging.getLogger("iii.access")


def grace_seconds(configured_ms: int) -> float:
    """The registration grace period: ``III_NAMESPACE_GRACE_MS`` overrides the config key."""
    override = os.environ.get("III_NAMESPACE_GRACE_MS", "").strip()
    if override.isdigit():
        return int(override) / 1000
    return configured_ms / 1000


class Namespaces(NamespaceHooks):
    """Fixes each connection's namespace and moves or releases its registrations.

    ``grace_ms()`` is the configured ``registration_namespace_grace_ms``; ``spawn(coro)`` runs
    an engine-owned task; ``apply(peer, frame)`` applies a registration frame (the frame
    dispatcher's).
    """

    def __init__(
        self,
        functions: FunctionRegistry,
        workers: WorkerTable,
        triggers: TriggerRegistry,
        *,
        grace_ms: Callable[[], int],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        apply: Callable[[Peer, AnyMessage], Awaitable[None]],
    ) -> None:
        self.functions = functions
        self.workers = workers
        self.triggers = triggers
        self._grace_ms = grace_ms
        self._spawn = spawn
        self._apply = apply
        self._fixed: weakref.WeakSet[Any] = weakref.WeakSet()
        """Peers whose namespace is fixed (declared, or the grace period ended)."""
        self._holding: weakref.WeakKeyDictionary[Any, Session] = weakref.WeakKeyDictionary()
        """Peers whose session holds registration frames."""

    def grace(self) -> float:
        """The grace period in seconds."""
        return grace_seconds(self._grace_ms())

    def hold(self, conn: Peer, session: Session) -> None:
        """Hold ``conn``'s registration frames until it declares its namespace or the grace
        period ends (then it is ``default``), upstream's buffering, for sessions of listeners
        with ``rbac``: their hooks and grants see the namespace the registrations will live in."""
        session.held = []
        self._holding[conn] = session
        asyncio.get_running_loop().call_later(self.grace(), self._grace_over, conn)

    def _grace_over(self, conn: Peer) -> None:
        if conn not in self._fixed and not conn.closing:
            self._spawn(self._fix_default(conn))

    async def _fix_default(self, conn: Peer) -> None:
        await self.declare(conn, None)
        await self.release(conn)

    async def declare(self, conn: Peer, declared: str | None) -> None:
        """Fix ``conn``'s namespace (``declared`` or ``default``); move what it registered
        provisionally in ``default`` (held frames are applied by :meth:`release`)."""
        if conn in self._fixed:
            if declared is not None and declared != conn.namespace:
                log.warning(
                    "worker %s declared namespace %s; its namespace is already %s",
                    conn.worker_id,
                    declared,
                    conn.namespace,
                )
            return
        self._fixed.add(conn)
        if declared is None or declared == conn.namespace:
            return
        if conn in self._holding:
            conn.namespace = declared  # nothing was applied yet
        elif time.time() - conn.connected_at_ms / 1000 > self.grace():
            log.warning(
                "worker %s declared namespace %s after the grace period; it stays in %s",
                conn.worker_id,
                declared,
                conn.namespace,
            )
        else:
            await self._move(conn, declared)

    async def release(self, conn: Peer) -> None:
        """Apply the held frames in order; frames arriving meanwhile join the queue."""
        session = self._holding.get(conn)
        if session is None:
            return
        held = session.held
        while held:
            message = held.pop(0)
            try:
                admitted = await admit_registration(session, conn, message)
                if admitted is not None:
                    await self._apply(conn, admitted)
            except Exception:
                log.exception("worker %s: a held registration failed", conn.worker_id)
        session.held = None
        self._holding.pop(conn, None)

    async def _move(self, conn: Peer, namespace: str) -> None:
        previous = conn.namespace
        conn.namespace = namespace
        types = [key for key in self.triggers.types_of(conn) if key[0] == previous]
        log.info(
            "worker %s declared namespace %s: moving %d function(s) and %d trigger type(s)",
            conn.worker_id,
            namespace,
            len(self.workers.functions_of(conn)),
            len(types),
        )
        await self._move_functions(conn, previous, namespace)
        await self._move_trigger_types(conn, previous, namespace)

    async def _move_trigger_types(self, conn: Peer, previous: str, namespace: str) -> None:
        """Trigger types the worker provides in ``previous`` and the home of its bindings."""
        triggers = self.triggers
        for binding_id in triggers.bindings_of(conn):
            binding = triggers.binding(binding_id)
            if binding is not None and binding.home_namespace == previous:
                binding.home_namespace = namespace
        for key in [k for k in triggers.types_of(conn) if k[0] == previous]:
            entry = triggers.types.get(key)
            if entry is None or entry.owner is not conn:
                continue
            provider = entry.remote
            if provider is None:
                continue
            await triggers.remove_type(key, owner=conn)
            moved = RemoteTriggerType(
                conn,
                provider.id,
                provider.description,
                provider.trigger_request_format,
                provider.call_request_format,
                namespace,
            )
            await triggers.add_remote_type(moved)

    async def _move_functions(self, conn: Peer, previous: str, namespace: str) -> None:
        functions = self.functions
        workers = self.workers
        for function_id in workers.functions_of(conn):
            entry = functions.get(previous, function_id)
            if entry is None or (entry.owner is not conn and entry.extra.get(EXTERNAL) is not conn):
                continue
            functions.remove(previous, function_id, only=entry)
            workers.drop_service_member(previous, function_id)
            existing = functions.get(namespace, function_id)
            if (
                existing is not None
                and existing.owner is not None
                and workers.is_live(existing.owner)
            ):
                workers.disown(conn, function_id)
                await conn.send(
                    encode(
                        RegistrationRejectedFrame(
                            code=errors.FUNCTION_NAMESPACE_CONFLICT,
                            namespace=namespace,
                            function_id=function_id,
                            owner_worker_id=existing.owner.worker_id,
                        )
                    )
                )
                continue
            functions.put(dataclasses.replace(entry, namespace=namespace, _middle=None))
            workers.add_service_member(namespace, function_id)
