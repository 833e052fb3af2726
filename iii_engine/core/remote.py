"""A trigger type provided by a worker process, wrapped to the :class:`TriggerType` protocol.

The trigger registry treats in-process and remote providers alike; for a remote one,
registering a binding sends ``registertrigger`` over the provider's socket and does not wait
(its nack arrives later as ``triggerregistrationresult``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iii_sdk.plugin import Trigger
from iii_sdk.protocol import NULL, RegisterTrigger, UnregisterTrigger, encode, to_raw

if TYPE_CHECKING:
    from iii_engine.server.connections import WorkerConnection

__all__ = ["RemoteTriggerType"]


class RemoteTriggerType:
    """Forwards bindings to the worker that registered the trigger type."""

    def __init__(
        self,
        conn: WorkerConnection,
        type_id: str,
        description: str,
        trigger_request_format: Any = None,
        call_request_format: Any = None,
        namespace: str = "default",
    ) -> None:
        self.conn = conn
        self.id = type_id
        self.description = description
        self.trigger_request_format = trigger_request_format
        self.call_request_format = call_request_format
        self.namespace = namespace

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
        if not await self.conn.send(encode(frame)):
            raise ConnectionError(f"provider {self.conn.worker_id} is disconnected")

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Tell the provider to drop the binding."""
        await self.conn.send(
            encode(UnregisterTrigger(id=trigger.id, trigger_type=trigger.trigger_type))
        )
