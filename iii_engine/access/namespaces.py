"""Which namespace a connection's registrations live in (protocol.md sections 2.3-2.4).

A connection learns its namespace from ``engine::workers::register``. Upstream buffers the
registration frames until then; this engine applies them at once in ``default`` and, when the
worker declares another namespace within the grace period
(``registration_namespace_grace_ms``, env ``III_NAMESPACE_GRACE_MS``), moves what it registered
there. The end state is upstream's, and a worker that never declares a namespace (raw clients,
the Rust SDK before its register call) is served without waiting for the grace period. After the
grace period, or once declared, the namespace is fixed: a later declaration is ignored with a
warning, as upstream does. Which namespaces an authenticated session may declare is checked on
the invoke path (:meth:`iii_engine.access.session.Session.intercept`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from typing import TYPE_CHECKING

from iii_engine.core.remote import RemoteTriggerType
from iii_sdk import errors
from iii_sdk.protocol import RegistrationRejected, encode

if TYPE_CHECKING:
    from iii_engine.engine import Engine
    from iii_engine.server.connections import WorkerConnection

__all__ = ["declare_namespace", "grace_seconds"]

log = logging.getLogger("iii.access")


def grace_seconds(configured_ms: int) -> float:
    """The registration grace period: ``III_NAMESPACE_GRACE_MS`` overrides the config key."""
    override = os.environ.get("III_NAMESPACE_GRACE_MS", "").strip()
    if override.isdigit():
        return int(override) / 1000
    return configured_ms / 1000


async def declare_namespace(engine: Engine, conn: WorkerConnection, declared: str | None) -> None:
    """Fix ``conn``'s namespace (``declared`` or ``default``), moving its functions there."""
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
    if declared is None or declared == conn.namespace:
        return
    late = asyncio.get_running_loop().time() - conn.admitted_at > grace_seconds(
        engine.config.registration_namespace_grace_ms
    )
    if late:
        log.warning(
            "worker %s declared namespace %s after the grace period; it stays in %s",
            conn.worker_id,
            declared,
            conn.namespace,
        )
        return
    await _move(engine, conn, declared)


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
