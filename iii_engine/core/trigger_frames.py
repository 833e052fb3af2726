"""Trigger frames from workers, applied to the :class:`~iii_engine.core.triggers.TriggerRegistry`
(docs/protocol.md section 4)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from iii_engine.core.bindings import Binding
from iii_engine.core.ownership import binding_refusal
from iii_engine.core.registry import DEFAULT_NAMESPACE
from iii_engine.core.remote import RemoteTriggerType
from iii_engine.core.triggers import RegistrationFailed, TriggerRegistry
from iii_sdk import errors
from iii_sdk.protocol import (
    ErrorBody,
    RegisterTrigger,
    RegisterTriggerType,
    RegistrationRejectedFrame,
    TriggerRegistrationResult,
    UnregisterTrigger,
    UnregisterTriggerType,
    encode,
    from_raw,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = ["TriggerFrames"]

log = logging.getLogger("iii.engine")


class TriggerFrames:
    """Handlers for ``registertriggertype``, ``registertrigger`` and their kin."""

    def __init__(self, registry: TriggerRegistry) -> None:
        self.registry = registry

    async def on_register_trigger_type(self, conn: Peer, msg: RegisterTriggerType) -> None:
        """``registertriggertype``: the connection becomes the provider."""
        namespace = conn.namespace if msg.namespace is None else msg.namespace
        if not namespace.strip():
            log.warning("ignoring trigger type %s with a blank namespace", msg.id)
            return
        existing = self.registry.types.get((namespace, msg.id))
        if existing is not None and existing.owner is None:
            # Provided in process by a built-in worker: never taken over by a socket.
            owner = existing.worker_name or "iii-engine"
            log.warning("rejected trigger type %s from %s: owned by %s", msg.id, conn, owner)
            await conn.send(
                encode(
                    RegistrationRejectedFrame(
                        code=errors.FUNCTION_NAMESPACE_CONFLICT,
                        namespace=namespace,
                        function_id=msg.id,
                        owner_worker_id=owner,
                    )
                )
            )
            return
        provider = RemoteTriggerType(
            conn,
            msg.id,
            msg.description,
            from_raw(msg.trigger_request_format),
            from_raw(msg.call_request_format),
            namespace,
        )
        await self.registry.add_remote_type(provider)

    async def on_unregister_trigger_type(self, conn: Peer, msg: UnregisterTriggerType) -> None:
        """``unregistertriggertype`` (an extension): withdraw the connection's provider."""
        namespace = conn.namespace if msg.namespace is None else msg.namespace
        await self.registry.remove_type((namespace, msg.id), owner=conn)

    async def on_register_trigger(self, conn: Peer, msg: RegisterTrigger) -> None:
        """``registertrigger`` from a worker."""
        for field_name in ("namespace", "trigger_namespace"):
            value = getattr(msg, field_name)
            if value is not None and not value.strip():
                await self._reject(
                    conn,
                    msg.id,
                    msg.trigger_type,
                    msg.function_id,
                    errors.INVALID_NAMESPACE,
                    f"{field_name} must not be blank",
                )
                return
        refusal = binding_refusal(self.registry, msg.id, conn)
        if refusal is not None:
            await self._reject(
                conn,
                msg.id,
                msg.trigger_type,
                msg.function_id,
                errors.TRIGGER_REGISTRATION_FAILED,
                refusal,
            )
            return
        binding = Binding(
            id=msg.id,
            trigger_type=msg.trigger_type,
            function_id=msg.function_id,
            config=from_raw(msg.config),
            metadata=from_raw(msg.metadata),
            owner=conn,
            namespace=msg.namespace or DEFAULT_NAMESPACE,
            trigger_namespace=msg.trigger_namespace,
            home_namespace=conn.namespace,
        )
        try:
            await self.registry.add_binding(binding)
        except RegistrationFailed as exc:
            await self._reject(
                conn,
                msg.id,
                msg.trigger_type,
                msg.function_id,
                errors.TRIGGER_REGISTRATION_FAILED,
                str(exc),
            )

    async def on_unregister_trigger(self, conn: Peer, msg: UnregisterTrigger) -> None:
        """``unregistertrigger``: idempotent; only the binding's owner may remove it."""
        refusal = binding_refusal(self.registry, msg.id, conn)
        if refusal is not None:
            held = self.registry.binding(msg.id)
            assert held is not None
            await self._reject(
                conn,
                msg.id,
                held.trigger_type,
                held.function_id,
                errors.TRIGGER_REGISTRATION_FAILED,
                refusal,
            )
            return
        await self.registry.remove_binding(msg.id)

    async def on_registration_result(self, conn: Peer, msg: TriggerRegistrationResult) -> None:
        """A provider's ack/nack of a delivered binding; a rejection is passed to its owner."""
        binding = self.registry.acknowledge(conn, msg.id, msg.error)
        if binding is None or msg.error is None:
            return
        owner = binding.owner
        if owner is not None and not owner.closing:
            await owner.send(
                encode(
                    TriggerRegistrationResult(
                        id=binding.id,
                        trigger_type=binding.trigger_type,
                        function_id=binding.function_id,
                        error=msg.error,
                    )
                )
            )

    async def _reject(
        self,
        conn: Peer,
        binding_id: str,
        type_id: str,
        function_id: str,
        code: str,
        message: str,
    ) -> None:
        await conn.send(
            encode(
                TriggerRegistrationResult(
                    id=binding_id,
                    trigger_type=type_id,
                    function_id=function_id,
                    error=ErrorBody(code=code, message=message),
                )
            )
        )
