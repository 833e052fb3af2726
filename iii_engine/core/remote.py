"""A trigger type provided by a worker process, wrapped to the :class:`TriggerType` protocol.

Registering a binding sends ``registertrigger`` over the provider's socket and does not wait:
the provider answers later with ``triggerregistrationresult``. This class owns those answers:
:meth:`RemoteTriggerType.register_and_wait` (used for bindings no worker owns, which have nobody
to tell about a late rejection) waits for one, :meth:`RemoteTriggerType.acknowledge` delivers
one, and :meth:`RemoteTriggerType.release` settles every wait when the provider leaves.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from iii_sdk.plugin import Trigger, TriggerType
from iii_sdk.protocol import (
    NULL,
    ErrorBody,
    RegisterTrigger,
    UnregisterTrigger,
    encode,
    to_raw,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = ["ACK_TIMEOUT_S", "RemoteTriggerType"]

ACK_TIMEOUT_S = 10.0
"""How long an ownerless registration waits for the provider's answer (silence is success)."""


class RemoteTriggerType(TriggerType):
    """Forwards bindings to the worker that registered the trigger type."""

    def __init__(
        self,
        peer: Peer,
        type_id: str,
        description: str,
        trigger_request_format: Any = None,
        call_request_format: Any = None,
        namespace: str = "default",
    ) -> None:
        self.peer = peer
        self.id = type_id
        self.description = description
        self.trigger_request_format = trigger_request_format
        self.call_request_format = call_request_format
        self.namespace = namespace
        self._waiting: dict[str, asyncio.Future[ErrorBody | None]] = {}

    async def register_trigger(self, trigger: Trigger) -> None:
        """Deliver the binding; a closed socket raises ``ConnectionError`` (caller parks it)."""
        frame = RegisterTrigger(
            id=trigger.id,
            trigger_type=trigger.trigger_type,
            function_id=trigger.function_id,
            config=NULL if trigger.config is None else to_raw(trigger.config),
            namespace=None if trigger.namespace == "default" else trigger.namespace,
            trigger_namespace=None if self.namespace == "default" else self.namespace,
        )
        if trigger.metadata is not None:
            frame.metadata = to_raw(trigger.metadata)
        if not await self.peer.send(encode(frame)):
            raise ConnectionError(f"provider {self.peer.worker_id} is disconnected")

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Tell the provider to drop the binding."""
        await self.peer.send(
            encode(UnregisterTrigger(id=trigger.id, trigger_type=trigger.trigger_type))
        )

    async def register_and_wait(self, trigger: Trigger) -> ErrorBody | None:
        """Deliver the binding and wait for the provider's answer: its error, else None.

        Silence for :data:`ACK_TIMEOUT_S`, a closed socket or the provider leaving count as
        success (docs/protocol.md section 4.4).
        """
        waiter: asyncio.Future[ErrorBody | None] = asyncio.get_running_loop().create_future()
        self._waiting[trigger.id] = waiter
        try:
            await self.register_trigger(trigger)
            async with asyncio.timeout(ACK_TIMEOUT_S):
                return await asyncio.shield(waiter)
        except (TimeoutError, ConnectionError):
            return None
        finally:
            if self._waiting.get(trigger.id) is waiter:
                del self._waiting[trigger.id]

    def acknowledge(self, binding_id: str, error: ErrorBody | None) -> bool:
        """The provider answered for ``binding_id``; True when a registration waited for it."""
        waiter = self._waiting.pop(binding_id, None)
        if waiter is None:
            return False
        if not waiter.done():
            waiter.set_result(error)
        return True

    def release(self) -> None:
        """The provider left: registrations waiting on it succeed."""
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_result(None)
        self._waiting.clear()
