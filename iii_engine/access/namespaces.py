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

Which namespaces an authenticated session may declare is checked on the invoke path
(:meth:`iii_engine.access.session.Session.intercept`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from typing import TYPE_CHECKING

from iii_engine.access.registration import admit_registration
from iii_engine.core.remote import RemoteTriggerType
from iii_sdk import errors
from iii_sdk.protocol import RegistrationRejected, encode

if TYPE_CHECKING:
    from iii_engine.engine import Engine
    from iii_engine.server.connections import WorkerConnection

__all__ = ["declare_namespace", "grace_seconds", "hold_registrations", "release_registrations"]

log = logging.getLogger("iii.access")


def grace_seconds(configured_ms: int) -> float:
    """The registration grace period: ``III_NAMESPACE_GRACE_MS`` overrides the config key."""
    override = os.environ.get("III_NAMESPACE_GRACE_MS", "").strip()
    if override.isdigit():
        return int(override) / 1000
    return configured_ms / 1000


def hold_registrations(engine: Engine, conn: WorkerConnection) -> None:
    """Hold ``conn``'s registration frames until it declares its namespace or the grace
    period ends (then it is ``default``), upstream's buffering, for sessions of listeners with
    ``rbac``: their hooks and grants see the namespace the registrations will live in."""
    conn.held = []
    grace = grace_seconds(engine.config.registration_namespace_grace_ms)
    asyncio.get_running_loop().call_later(grace, _grace_over, engine, conn)


def _grace_over(engine: Engine, conn: WorkerConnection) -> None:
    if not conn.namespace_fixed and not conn.closing:
        engine.spawn(_fix_default(engine, conn))


async def _fix_default(engine: Engine, conn: WorkerConnection) -> None:
    await declare_namespace(engine, conn, None)
    await release_registrations(conn)


async def declare_namespace(engine: Engine, conn: WorkerConnection, declared: str | None) -> None:
    """Fix ``conn``'s namespace (``declared`` or ``default``); move what it registered
    provisionally in ``default`` (held frames are applied by :func:`release_registrations`)."""
    if conn.namespace_fixed:
        if declared is not None and declared != conn.namespace:
            log.warning(
                "worker %s declared namespace %s; its namespace is already %s",
                conn.worker_id,
                declared,
                conn.namespace,
            )
        return
    conn.namespace_fixed = True
    if declared is not None and declared != conn.namespace:
        if conn.held is not None:
            conn.namespace = declared  # nothing was applied yet
        elif asyncio.get_running_loop().time() - conn.admitted_at > grace_seconds(
            engine.config.registration_namespace_grace_ms
        ):
            log.warning(
                "worker %s declared namespace %s after the grace period; it stays in %s",
                conn.worker_id,
                declared,
                conn.namespace,
            )
        else:
            await _move(engine, conn, declared)


async def release_registrations(conn: WorkerConnection) -> None:
    """Apply the held frames in order; frames arriving meanwhile join the queue."""
    held = conn.held
    if held is None:
        return
    session = conn.session
    while held:
        message = held.pop(0)
        try:
            admitted = (
                message if session is None else await admit_registration(session, conn, message)
            )
            if admitted is not None:
                await conn.apply_registration(admitted)
        except Exception:
            log.exception("worker %s: a held registration failed", conn.worker_id)
    conn.held = None


async def _move(engine: Engine, conn: WorkerConnection, namespace: str) -> None:
    previous = conn.namespace
    conn.namespace = namespace
    log.info(
        "worker %s declared namespace %s: moving %d function(s) and %d trigger type(s)",
        conn.worker_id,
        namespace,
        len(conn.functions),
        sum(1 for key in conn.trigger_types if key[0] == previous),
    )
    await _move_functions(engine, conn, previous, namespace)
    await _move_trigger_types(engine, conn, previous, namespace)


async def _move_trigger_types(
    engine: Engine, conn: WorkerConnection, previous: str, namespace: str
) -> None:
    """Trigger types the worker provides in ``previous`` and the home of its bindings."""
    triggers = engine.triggers
    for binding_id in conn.triggers:
        binding = triggers.live.get(binding_id) or triggers.parked.get(binding_id)
        if binding is not None and binding.home_namespace == previous:
            binding.home_namespace = namespace
    for key in [k for k in conn.trigger_types if k[0] == previous]:
        entry = triggers.types.get(key)
        if entry is None or entry.owner is not conn:
            continue
        provider = entry.provider
        if not isinstance(provider, RemoteTriggerType):
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
        await triggers.add_type(
            moved, namespace=namespace, owner=conn, worker_name=entry.worker_name
        )


async def _move_functions(
    engine: Engine, conn: WorkerConnection, previous: str, namespace: str
) -> None:
    functions = engine.functions
    for function_id in list(conn.functions):
        entry = functions.get(previous, function_id)
        if entry is None or (entry.owner is not conn and entry.extra.get("external") is not conn):
            continue
        functions.remove(previous, function_id, only=entry)
        engine.workers.drop_service_member(previous, function_id)
        existing = functions.get(namespace, function_id)
        if (
            existing is not None
            and existing.owner is not None
            and engine.workers.is_live(existing.owner)
        ):
            conn.functions.discard(function_id)
            await conn.send(
                encode(
                    RegistrationRejected(
                        code=errors.FUNCTION_NAMESPACE_CONFLICT,
                        namespace=namespace,
                        function_id=function_id,
                        owner_worker_id=existing.owner.worker_id,
                    )
                )
            )
            continue
        functions.put(dataclasses.replace(entry, namespace=namespace, _middle=None))
        engine.workers.add_service_member(namespace, function_id)
