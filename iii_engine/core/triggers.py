"""Trigger types (providers), bindings, and bindings parked until a provider exists.

Registration is order-independent: a binding whose type has no provider is parked and
delivered when one registers; a provider that goes away parks its bindings again. In-process
providers (built-in plugins) and remote ones (:class:`iii_engine.core.remote.RemoteTriggerType`)
share one code path; a remote provider answers later, so its entry carries it as ``remote``.

The registry keeps its own maps from a peer to the trigger types and bindings it registered and
to what it displaced, so disconnect cleanup needs nothing from the connection object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from iii_engine.core.bindings import Binding, TriggerTypeEntry, TypeKey
from iii_engine.core.registry import DEFAULT_NAMESPACE
from iii_sdk.plugin import TriggerType
from iii_sdk.protocol import ErrorBody

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.remote import RemoteTriggerType
    from iii_engine.core.router import Router

__all__ = ["Binding", "RegistrationFailed", "TriggerRegistry", "TriggerTypeEntry"]

log = logging.getLogger("iii.engine")
_T = TypeVar("_T")


class RegistrationFailed(Exception):
    """A provider rejected a binding."""


class TriggerRegistry:
    """Trigger types by ``(namespace, id)``; live and parked bindings by id."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.types: dict[TypeKey, TriggerTypeEntry] = {}
        self.live: dict[str, Binding] = {}
        self.parked: dict[str, Binding] = {}
        self._types_of: dict[Peer, set[TypeKey]] = {}
        self._bindings_of: dict[Peer, set[str]] = {}
        self._displaced_by: dict[Peer, list[TriggerTypeEntry | Binding]] = {}
        """Trigger types and bindings of other live workers a peer replaced."""

    # --- providers -------------------------------------------------------------------------------

    async def add_type(
        self,
        provider: TriggerType,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        worker_name: str | None = None,
    ) -> TriggerTypeEntry:
        """Publish an in-process provider (replacing any other for the key)."""
        return await self._publish(
            TriggerTypeEntry(provider.id, namespace, provider, None, worker_name)
        )

    async def add_remote_type(self, provider: RemoteTriggerType) -> TriggerTypeEntry:
        """Publish a provider a worker registered (``registertriggertype``)."""
        entry = TriggerTypeEntry(
            provider.id, provider.namespace, provider, provider.peer, remote=provider
        )
        return await self._publish(entry)

    async def _publish(self, entry: TriggerTypeEntry) -> TriggerTypeEntry:
        previous = self.types.get(entry.key)
        self.types[entry.key] = entry
        owner = entry.owner
        if owner is not None:
            self._types_of.setdefault(owner, set()).add(entry.key)
            if previous is not None and previous.owner not in (None, owner):
                self._displaced_by.setdefault(owner, []).append(previous)
        if previous is not None:
            for binding in list(previous.bindings.values()):
                await self._deliver_or_park(binding, entry)
        for binding in list(self.parked.values()):
            if self._resolve(binding) is entry:
                await self._deliver_or_park(binding, entry)
        return entry

    async def remove_type(self, key: TypeKey, *, owner: Peer | None) -> None:
        """Withdraw a provider (only if ``owner`` still owns it); re-home or park its bindings."""
        entry = self.types.get(key)
        if entry is None or entry.owner is not owner:
            return
        del self.types[key]
        if owner is not None:
            _discard(self._types_of, owner, key)
        for binding in list(entry.bindings.values()):
            entry.bindings.pop(binding.id, None)
            binding.provider = None
            self.live.pop(binding.id, None)
            other = self._resolve(binding)
            if other is not None:
                await self._deliver_or_park(binding, other)
            else:
                log.info("[DISABLED] trigger %s waits for a %s provider", binding.id, key[1])
                self.parked[binding.id] = binding

    # --- bindings --------------------------------------------------------------------------------

    async def add_binding(self, binding: Binding) -> None:
        """Register a binding; raise :class:`RegistrationFailed` when its provider rejects it."""
        displaced = self.live.get(binding.id) or self.parked.get(binding.id)
        if (
            binding.owner is not None
            and displaced is not None
            and displaced.owner not in (None, binding.owner)
        ):
            self._displaced_by.setdefault(binding.owner, []).append(displaced)
        entry = self._resolve(binding)
        if entry is None:
            await self._drop_live(binding.id)
            self._park(binding)
            log.info(
                "[PENDING] trigger %s (%s -> %s) waits for a provider of %r",
                binding.id,
                binding.trigger_type,
                binding.function_id,
                binding.trigger_type,
            )
            return
        if entry.remote is not None:
            await self._drop_live(binding.id)
            if binding.owner is not None:
                # The provider's rejection arrives later and goes to the owner (acknowledge).
                await self._deliver_or_park(binding, entry)
                return
            await self._deliver_and_wait(binding, entry, entry.remote)
            return
        existing = self.live.get(binding.id)
        replacing = existing is not None and existing.provider is entry
        try:
            if existing is not None and replacing:
                await entry.provider.unregister_trigger(existing.as_trigger())
            await entry.provider.register_trigger(binding.as_trigger())
        except Exception as exc:
            if existing is not None and replacing:
                await self._restore(existing, entry)
            raise RegistrationFailed(str(exc) or type(exc).__name__) from exc
        if existing is not None and not replacing:
            await self._drop_live(binding.id)
        self._make_live(binding, entry)

    async def _restore(self, previous: Binding, entry: TriggerTypeEntry) -> None:
        # A rejected replacement leaves the previous binding in place (docs/protocol.md 4.3).
        try:
            await entry.provider.register_trigger(previous.as_trigger())
        except Exception as exc:
            log.warning("trigger %s could not be restored: %s", previous.id, exc)
            self._forget(previous)

    async def remove_binding(self, binding_id: str) -> bool:
        """Remove a live or parked binding; True when one existed."""
        if binding_id in self.parked:
            self._forget(self.parked[binding_id])
            return True
        return await self._drop_live(binding_id)

    def bindings_of(self, peer: Peer) -> list[str]:
        """The ids of the bindings ``peer`` registered (a copy)."""
        return list(self._bindings_of.get(peer, ()))

    def types_of(self, peer: Peer) -> list[TypeKey]:
        """The keys of the trigger types ``peer`` provides (a copy)."""
        return list(self._types_of.get(peer, ()))

    def binding(self, binding_id: str) -> Binding | None:
        """The binding ``binding_id``, live or parked, or None."""
        return self.live.get(binding_id) or self.parked.get(binding_id)

    def acknowledge(self, peer: Peer, binding_id: str, error: ErrorBody | None) -> Binding | None:
        """A provider's answer (``triggerregistrationresult``) for a binding it was given.

        A registration waiting for it gets it. Otherwise a rejection parks the live binding and
        returns it, so the caller can tell its owner; anything else returns None.
        """
        for key in self._types_of.get(peer, ()):
            remote = self.types[key].remote
            if remote is not None and remote.acknowledge(binding_id, error):
                return None
        binding = self.live.get(binding_id)
        if binding is None or binding.provider is None or binding.provider.owner is not peer:
            return None
        if error is None:
            return None
        log.warning("provider rejected trigger %s: %s", binding_id, error.message)
        self._unlink(binding)
        self.parked[binding.id] = binding
        return binding

    def fire(self, type_id: str, payload: Any, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Invoke every live binding of an engine-provided type, each independently."""
        entry = self.types.get((namespace, type_id))
        if entry is None:
            return
        for binding in list(entry.bindings.values()):
            self.router.invoke_void(
                binding.function_id,
                payload,
                metadata=binding.metadata,
                namespace=binding.namespace,
            )

    def fire_each(
        self,
        type_id: str,
        payload_for: Callable[[Binding], Any],
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        """:meth:`fire` with a payload made per binding (what its owner may see)."""
        entry = self.types.get((namespace, type_id))
        if entry is None:
            return
        for binding in list(entry.bindings.values()):
            self.router.invoke_void(
                binding.function_id,
                payload_for(binding),
                metadata=binding.metadata,
                namespace=binding.namespace,
            )

    async def drop_connection(self, peer: Peer) -> None:
        """Cleanup for a disconnected worker: its bindings, parked intents, trigger types."""
        for binding_id in list(self._bindings_of.get(peer, ())):
            binding = self.live.get(binding_id) or self.parked.get(binding_id)
            if binding is not None and binding.owner is peer:
                await self.remove_binding(binding_id)
        self._bindings_of.pop(peer, None)
        keys = list(self._types_of.get(peer, ()))
        for key in keys:
            remote = self.types[key].remote
            if remote is not None:
                remote.release()  # ownerless registrations waiting on it succeed
        for key in keys:
            await self.remove_type(key, owner=peer)
        self._types_of.pop(peer, None)
        await self._restore_displaced(peer)

    async def _restore_displaced(self, peer: Peer) -> None:
        # What this peer replaced goes back to its previous owner if that owner is still
        # connected: a duplicate worker rejected for its name must not strip the original of
        # its trigger types and bindings (the engine applies registrations immediately).
        for record in reversed(self._displaced_by.pop(peer, [])):
            owner = record.owner
            if owner is None or owner.closing:
                continue
            if isinstance(record, TriggerTypeEntry):
                if record.key not in self.types:
                    await self._publish(record.fresh())
            elif record.id not in self.live and record.id not in self.parked:
                try:
                    await self.add_binding(record)
                except RegistrationFailed as exc:
                    log.warning("trigger %s could not be restored: %s", record.id, exc)

    # --- internals -------------------------------------------------------------------------------

    def _resolve(self, binding: Binding) -> TriggerTypeEntry | None:
        if binding.trigger_namespace is not None:
            return self.types.get((binding.trigger_namespace, binding.trigger_type))
        return self.types.get((binding.home_namespace, binding.trigger_type)) or self.types.get(
            (DEFAULT_NAMESPACE, binding.trigger_type)
        )

    async def _deliver_or_park(self, binding: Binding, entry: TriggerTypeEntry) -> None:
        try:
            await entry.provider.register_trigger(binding.as_trigger())
        except Exception as exc:
            log.warning("trigger %s parked: provider %s refused it: %s", binding.id, entry.id, exc)
            self._unlink(binding)
            self._park(binding)
            return
        self._make_live(binding, entry)

    async def _deliver_and_wait(
        self, binding: Binding, entry: TriggerTypeEntry, remote: RemoteTriggerType
    ) -> None:
        # Ownerless bindings (engine::register_trigger) wait for the provider's answer; silence
        # or the provider leaving counts as success (docs/protocol.md section 4.4).
        self._make_live(binding, entry)
        error = await remote.register_and_wait(binding.as_trigger())
        if error is not None:
            self._forget(binding)
            raise RegistrationFailed(f"{error.code}: {error.message}")

    def _unlink(self, binding: Binding) -> None:
        """Detach a binding from its provider and the live table (it stays owned)."""
        if binding.provider is not None:
            binding.provider.bindings.pop(binding.id, None)
            binding.provider = None
        self.live.pop(binding.id, None)

    def _make_live(self, binding: Binding, entry: TriggerTypeEntry) -> None:
        if binding.provider is not None and binding.provider is not entry:
            binding.provider.bindings.pop(binding.id, None)
        binding.provider = entry
        entry.bindings[binding.id] = binding
        self.parked.pop(binding.id, None)
        self.live[binding.id] = binding
        if binding.owner is not None:
            self._bindings_of.setdefault(binding.owner, set()).add(binding.id)

    def _park(self, binding: Binding) -> None:
        self.parked[binding.id] = binding
        if binding.owner is not None:
            self._bindings_of.setdefault(binding.owner, set()).add(binding.id)

    def _forget(self, binding: Binding) -> None:
        self.parked.pop(binding.id, None)
        if self.live.get(binding.id) is binding:
            del self.live[binding.id]
        if binding.provider is not None:
            binding.provider.bindings.pop(binding.id, None)
            binding.provider = None
        if binding.owner is not None:
            _discard(self._bindings_of, binding.owner, binding.id)

    async def _drop_live(self, binding_id: str) -> bool:
        binding = self.live.get(binding_id)
        if binding is None:
            return False
        entry = binding.provider
        if entry is not None:
            try:
                await entry.provider.unregister_trigger(binding.as_trigger())
            except Exception as exc:
                log.warning("provider %s failed to drop trigger %s: %s", entry.id, binding_id, exc)
        self._forget(binding)
        return True

    async def close(self) -> None:
        """Let every in-process provider drop its bindings (engine shutdown)."""
        for binding in list(self.live.values()):
            await self._drop_live(binding.id)


def _discard(owned: dict[Peer, set[_T]], peer: Peer, item: _T) -> None:
    items = owned.get(peer)
    if items is not None:
        items.discard(item)
        if not items:
            del owned[peer]
