"""The trigger registry's records: a trigger type's entry and a binding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iii_engine.core.registry import DEFAULT_NAMESPACE
from iii_sdk.plugin import Trigger, TriggerType

if TYPE_CHECKING:
    from iii_engine.server.connections import WorkerConnection

__all__ = ["Binding", "TriggerTypeEntry", "TypeKey"]

TypeKey = tuple[str, str]


@dataclass(eq=False)
class TriggerTypeEntry:
    """A registered trigger type and its provider."""

    id: str
    namespace: str
    provider: TriggerType
    owner: WorkerConnection | None = None
    worker_name: str | None = None
    bindings: dict[str, Binding] = field(default_factory=dict)

    @property
    def key(self) -> TypeKey:
        """``(namespace, id)``."""
        return (self.namespace, self.id)

    @property
    def description(self) -> str:
        """The provider's description."""
        return str(getattr(self.provider, "description", ""))


@dataclass(eq=False)
class Binding:
    """A trigger: ``function_id`` runs when ``trigger_type`` fires with ``config``."""

    id: str
    trigger_type: str
    function_id: str
    config: Any = None
    metadata: Any = None
    owner: WorkerConnection | None = None
    namespace: str = DEFAULT_NAMESPACE
    trigger_namespace: str | None = None
    home_namespace: str = DEFAULT_NAMESPACE
    provider: TriggerTypeEntry | None = None

    def as_trigger(self) -> Trigger:
        """The view handed to a provider."""
        return Trigger(
            id=self.id,
            trigger_type=self.trigger_type,
            function_id=self.function_id,
            config=self.config,
            metadata=self.metadata,
            namespace=self.namespace,
        )
