"""Trigger types (providers), bindings, and bindings parked until a provider exists.

Registration is order-independent: a binding whose type has no provider is parked and
delivered when one registers; a provider that goes away parks its bindings again. In-process
providers (built-in plugins) and remote ones (:class:`iii_engine.core.remote.RemoteTriggerType`)
share one code path.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from iii_engine.core.bindings import Binding, TriggerTypeEntry, TypeKey
from iii_engine.core.registry import DEFAULT_NAMESPACE
from iii_engine.core.remote import RemoteTriggerType
from iii_sdk.plugin import TriggerType
from iii_sdk.protocol import (
    ErrorBody,
)

if TYPE_CHECKING:
    from iii_engine.core.router import Router
    from iii_engine.server.connections import WorkerConnection

__all__ = ["Binding", "RegistrationFailed", "TriggerRegistry", "TriggerTypeEntry"]

log = logging.getLogger("iii.engine")
ACK_TIMEOUT_S = 10.0


class RegistrationFailed(Exception):
    """A provider rejected a binding."""


class TriggerRegistry:
    """Trigger types by ``(namespace, id)``; live and parked bindings by id."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.types: dict[TypeKey, TriggerTypeEntry] = {}
        self.live: dict[str, Binding] = {}
        self.parked: dict[str, Binding] = {}
        self.acks: dict[tuple[str, str], asyncio.Future[ErrorBody | None]] = {}

    # --- providers -------------------------------------------------------------------------------

    async def add_type(
        self,
        provider: TriggerType,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        owner: WorkerConnection | None = None,
        worker_name: str | None = None,
    ) -> TriggerTypeEntry:
        """Publish a provider (replacing any other for the key) and deliver its bindings."""
        entry = TriggerTypeEntry(provider.id, namespace, provider, owner, worker_name)
        previous = self.types.get(entry.key)
        self.types[entry.key] = entry
        if owner is not None:
            owner.trigger_types.add(entry.key)
            if previous is not None and previous.owner not in (None, owner):
                owner.displaced.append(previous)
        if previous is not None:
            for binding in list(previous.bindings.values()):
                await self._deliver_or_park(binding, entry)
        for binding in list(self.parked.values()):
            if self._resolve(binding) is entry:
                await self._deliver_or_park(binding, entry)
        return entry

    async def remove_type(self, key: TypeKey, *, owner: WorkerConnection | None) -> None:
        """Withdraw a provider (only if ``owner`` still owns it); re-home or park its bindings."""
        entry = self.types.get(key)
        if entry is None or entry.owner is not owner:
            return
        del self.types[key]
        if owner is not None:
            owner.trigger_types.discard(key)
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
            binding.owner.displaced.append(displaced)
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
        if isinstance(entry.provider, RemoteTriggerType):
            await self._drop_live(binding.id)
            if binding.owner is not None:
                await self._deliver_or_park(binding, entry)
                return
            await self._deliver_and_wait(binding, entry, entry.provider)
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
        # A rejected replacement leaves the previous binding in place (protocol.md 4.3).
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

    async def drop_connection(self, conn: WorkerConnection) -> None:
        """Cleanup for a disconnected worker: its bindings, parked intents, trigger types."""
        for binding_id in list(conn.triggers):
            binding = self.live.get(binding_id) or self.parked.get(binding_id)
            if binding is not None and binding.owner is conn:
                await self.remove_binding(binding_id)
        conn.triggers.clear()
        self.release_acks(conn)
        for key in list(conn.trigger_types):
            await self.remove_type(key, owner=conn)
        await self._restore_displaced(conn)

    async def _restore_displaced(self, conn: WorkerConnection) -> None:
        # What this connection replaced goes back to its previous owner if that owner is still
        # connected: a duplicate worker rejected for its name must not strip the original of
        # its trigger types and bindings (the engine applies registrations immediately).
        for record in reversed(conn.displaced):
            owner = record.owner
            if owner is None or owner.closing:
                continue
            if isinstance(record, TriggerTypeEntry):
                if record.key not in self.types:
                    await self.add_type(
                        record.provider,
                        namespace=record.namespace,
                        owner=owner,
                        worker_name=record.worker_name,
                    )
            elif record.id not in self.live and record.id not in self.parked:
                try:
                    await self.add_binding(record)
                except RegistrationFailed as exc:
                    log.warning("trigger %s could not be restored: %s", record.id, exc)
        conn.displaced.clear()

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
            if binding.provider is not None:
                binding.provider.bindings.pop(binding.id, None)
                binding.provider = None
            self.live.pop(binding.id, None)
            self._park(binding)
            return
        self._make_live(binding, entry)

    async def _deliver_and_wait(
        self, binding: Binding, entry: TriggerTypeEntry, provider: RemoteTriggerType
    ) -> None:
        # Ownerless bindings (engine::register_trigger) wait up to 10 s for the provider's ack;
        # silence or the provider leaving counts as success (protocol.md section 4.4).
        key = (provider.conn.worker_id, binding.id)
        waiter: asyncio.Future[ErrorBody | None] = asyncio.get_running_loop().create_future()
        self.acks[key] = waiter
        self._make_live(binding, entry)
        try:
            await provider.register_trigger(binding.as_trigger())
            async with asyncio.timeout(ACK_TIMEOUT_S):
                error = await asyncio.shield(waiter)
        except (TimeoutError, ConnectionError):
            error = None
        finally:
            self.acks.pop(key, None)
        if error is not None:
            self._forget(binding)
            raise RegistrationFailed(f"{error.code}: {error.message}")

    def release_acks(self, conn: WorkerConnection) -> None:
        """A provider left: ownerless registrations waiting on it succeed."""
        for key, waiter in list(self.acks.items()):
            if key[0] == conn.worker_id and not waiter.done():
                waiter.set_result(None)

    def _make_live(self, binding: Binding, entry: TriggerTypeEntry) -> None:
        if binding.provider is not None and binding.provider is not entry:
            binding.provider.bindings.pop(binding.id, None)
        binding.provider = entry
        entry.bindings[binding.id] = binding
        self.parked.pop(binding.id, None)
        self.live[binding.id] = binding
        if binding.owner is not None:
            binding.owner.triggers.add(binding.id)

    def _park(self, binding: Binding) -> None:
        self.parked[binding.id] = binding
        if binding.owner is not None:
            binding.owner.triggers.add(binding.id)

    def _forget(self, binding: Binding) -> None:
        self.parked.pop(binding.id, None)
        if self.live.get(binding.id) is binding:
            del self.live[binding.id]
        if binding.provider is not None:
            binding.provider.bindings.pop(binding.id, None)
            binding.provider = None
        if binding.owner is not None:
            binding.owner.triggers.discard(binding.id)

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
