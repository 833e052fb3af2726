"""The trigger registry's records: a trigger type's entry and a binding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iii_engine.core.registry import DEFAULT_NAMESPACE
from iii_sdk.plugin import Trigger, TriggerType

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.remote import RemoteTriggerType

__all__ = ["Binding", "TriggerTypeEntry", "TypeKey"]

TypeKey = tuple[str, str]


@dataclass(eq=False)
class TriggerTypeEntry:
    """A registered trigger type and its provider.

    ``remote`` is set for a type a worker provides over its socket (then ``provider`` is that
    same object and ``owner`` its peer): its answers to deliveries arrive later, as frames.
    """

    id: str
    namespace: str
    provider: TriggerType
    owner: Peer | None = None
    worker_name: str | None = None
    bindings: dict[str, Binding] = field(default_factory=dict)
    remote: RemoteTriggerType | None = None

    @property
    def key(self) -> TypeKey:
        """``(namespace, id)``."""
        return (self.namespace, self.id)

    def fresh(self) -> TriggerTypeEntry:
        """The same provider published anew, without bindings (restoring a displaced type)."""
        return TriggerTypeEntry(
            self.id, self.namespace, self.provider, self.owner, self.worker_name, remote=self.remote
        )

    @property
    def description(self) -> str:
        """The provider's description."""
        return self.provider.description


@dataclass(eq=False)
class Binding:
    """A trigger: ``function_id`` runs when ``trigger_type`` fires with ``config``."""

    id: str
    trigger_type: str
    function_id: str
    config: Any = None
    metadata: Any = None
    owner: Peer | None = None
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
