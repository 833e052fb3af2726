"""Registration frames from a session (protocol.md sections 8.3, 8.5 and 8.6).

Before a registration frame is applied, its session's gates run (``allow_function_registration``,
``allow_trigger_type_registration``, ``allowed_trigger_types``), then the listener's hook for
that kind, then the session's function prefix. A gate or hook that says no drops the frame
**silently** (logged, nothing sent to the worker), as upstream does. A trigger whose target
function the session may not call is refused with ``FORBIDDEN`` (a trigger is a way to call).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from msgspec import UNSET

from iii_engine.access.rbac_config import DEFAULT_NAMESPACE
from iii_sdk import errors
from iii_sdk.protocol import (
    AnyMessage,
    ErrorBody,
    RegisterFunction,
    RegisterService,
    RegisterTrigger,
    RegisterTriggerType,
    TriggerRegistrationResult,
    UnregisterFunction,
    UnregisterTrigger,
    UnregisterTriggerType,
    encode,
    from_raw,
    to_raw,
)

if TYPE_CHECKING:
    from iii_engine.access.auth import AuthResult
    from iii_engine.access.rbac_config import RbacConfig
    from iii_engine.core.peer import Peer
    from iii_engine.core.router import Router

__all__ = ["REGISTRATION_FRAMES", "Gatekeeper", "admit_registration", "filter_frame", "prefixed"]

log = logging.getLogger("iii.access")

REGISTRATION_FRAMES: frozenset[type[Any]] = frozenset(
    {
        RegisterFunction,
        UnregisterFunction,
        RegisterService,
        RegisterTrigger,
        UnregisterTrigger,
        RegisterTriggerType,
        UnregisterTriggerType,
    }
)
"""Frames :func:`filter_frame` looks at: held until the namespace is known, then filtered."""


class Gatekeeper(Protocol):
    """What the registration filter reads of a session
    (:class:`iii_engine.access.session.Session`)."""

    auth: AuthResult
    rbac: RbacConfig | None
    context: Any
    prefix: str | None
    router: Router
    held: list[AnyMessage] | None

    def decide(self, function_id: str, namespace: str, metadata: Any) -> str | None:
        """Protocol.md 8.3: None when allowed, else the ``FORBIDDEN`` message."""
        ...


def prefixed(session: Gatekeeper, function_id: str) -> str:
    """``P::id`` under a ``function_registration_prefix`` P, else ``id``."""
    return function_id if session.prefix is None else f"{session.prefix}::{function_id}"


async def filter_frame(session: Gatekeeper, conn: Peer, message: AnyMessage) -> AnyMessage | None:
    """The frame to apply (possibly rewritten), or None when it is dropped or held."""
    held = session.held
    if held is not None:
        held.append(message)  # the namespace is not known yet (protocol.md 2.4)
        return None
    return await admit_registration(session, conn, message)


async def admit_registration(
    session: Gatekeeper, conn: Peer, message: AnyMessage
) -> AnyMessage | None:
    """Gates, hooks and prefix: the frame to apply (possibly rewritten), or None."""
    match message:
        case RegisterFunction():
            return await _function(session, conn, message)
        case UnregisterFunction():
            if session.prefix is None:
                return message
            return msgspec.structs.replace(message, id=prefixed(session, message.id))
        case RegisterTrigger():
            return await _trigger(session, conn, message)
        case RegisterTriggerType():
            return await _trigger_type(session, conn, message)
        case _:
            return message


async def _hook(
    session: Gatekeeper, conn: Peer, function_id: str | None, payload: dict[str, Any]
) -> dict[str, Any] | None:
    """Run a registration hook: its object result, or None for "deny" (error, null, other)."""
    if function_id is None:
        return payload
    try:
        result = await session.router.invoke(function_id, payload, namespace=DEFAULT_NAMESPACE)
    except Exception as exc:
        log.info("hook %s denied a registration of %s: %s", function_id, conn.worker_id, exc)
        return None
    if not isinstance(result, dict):
        log.info("hook %s denied a registration of %s", function_id, conn.worker_id)
        return None
    return result


def _string(result: dict[str, Any], key: str, original: str) -> str:
    value = result.get(key)
    return value if isinstance(value, str) else original


async def _function(
    session: Gatekeeper, conn: Peer, msg: RegisterFunction
) -> RegisterFunction | None:
    if not session.auth.allow_function_registration:
        log.info("worker %s may not register functions: %s dropped", conn.worker_id, msg.id)
        return None
    rbac = session.rbac
    hook = None if rbac is None else rbac.on_function_registration_function_id
    if hook is not None:
        metadata = from_raw(msg.metadata) if msg.metadata is not UNSET else None
        result = await _hook(
            session,
            conn,
            hook,
            {
                "function_id": msg.id,
                "description": msg.description,
                "metadata": metadata,
                "namespace": conn.namespace,
                "context": session.context,
            },
        )
        if result is None:
            return None
        changes: dict[str, Any] = {"id": _string(result, "function_id", msg.id)}
        description = result.get("description")
        if isinstance(description, str):
            changes["description"] = description
        if "metadata" in result:
            metadata = result["metadata"]
            changes["metadata"] = UNSET if metadata is None else to_raw(metadata)
        msg = msgspec.structs.replace(msg, **changes)
    if session.prefix is not None:
        msg = msgspec.structs.replace(msg, id=prefixed(session, msg.id))
    return msg


async def _trigger(session: Gatekeeper, conn: Peer, msg: RegisterTrigger) -> RegisterTrigger | None:
    allowed_types = session.auth.allowed_trigger_types
    if allowed_types is not None and msg.trigger_type not in allowed_types:
        log.info("worker %s may not bind trigger type %s", conn.worker_id, msg.trigger_type)
        return None
    rbac = session.rbac
    hook = None if rbac is None else rbac.on_trigger_registration_function_id
    target_namespace = msg.namespace or DEFAULT_NAMESPACE
    if hook is not None:
        result = await _hook(
            session,
            conn,
            hook,
            {
                "trigger_id": msg.id,
                "trigger_type": msg.trigger_type,
                "function_id": msg.function_id,
                "config": from_raw(msg.config),
                "metadata": from_raw(msg.metadata),
                "namespace": target_namespace,
                "context": session.context,
            },
        )
        if result is None:
            return None
        changes: dict[str, Any] = {
            "id": _string(result, "trigger_id", msg.id),
            "trigger_type": _string(result, "trigger_type", msg.trigger_type),
            "function_id": _string(result, "function_id", msg.function_id),
        }
        if "config" in result:
            changes["config"] = to_raw(result["config"])
        msg = msgspec.structs.replace(msg, **changes)
    if session.prefix is not None:
        msg = msgspec.structs.replace(msg, function_id=prefixed(session, msg.function_id))
    entry = session.router.functions.get(target_namespace, msg.function_id)
    if entry is not None and entry.owner is conn:
        return msg  # a worker may always bind its own functions
    metadata = None if entry is None else from_raw(entry.metadata)
    denial = session.decide(msg.function_id, target_namespace, metadata)
    if denial is None:
        return msg
    log.info("rbac: worker %s may not bind %s: %s", conn.worker_id, msg.function_id, denial)
    await conn.send(
        encode(
            TriggerRegistrationResult(
                id=msg.id,
                trigger_type=msg.trigger_type,
                function_id=msg.function_id,
                error=ErrorBody(code=errors.FORBIDDEN, message=denial),
            )
        )
    )
    return None


async def _trigger_type(
    session: Gatekeeper, conn: Peer, msg: RegisterTriggerType
) -> RegisterTriggerType | None:
    if not session.auth.allow_trigger_type_registration:
        log.info("worker %s may not register trigger types: %s dropped", conn.worker_id, msg.id)
        return None
    rbac = session.rbac
    hook = None if rbac is None else rbac.on_trigger_type_registration_function_id
    if hook is None:
        return msg
    result = await _hook(
        session,
        conn,
        hook,
        {"trigger_type_id": msg.id, "description": msg.description, "context": session.context},
    )
    if result is None:
        return None
    return msgspec.structs.replace(
        msg,
        id=_string(result, "trigger_type_id", msg.id),
        description=_string(result, "description", msg.description),
    )
