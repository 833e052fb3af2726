"""The provider side of trigger types hosted by this worker.

The engine delivers each binding of a type this worker provides as ``registertrigger`` and
removes it with ``unregistertrigger``. Operations on one trigger id run one after the other (a
re-delivered id first unregisters the binding the provider already serves), operations on
different ids run concurrently. Each delivery is answered with ``triggerregistrationresult``,
without ``error`` on success like the upstream SDKs, with ``trigger_registration_failed`` and
the exception text when the provider raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from iii_sdk.errors import TRIGGER_REGISTRATION_FAILED
from iii_sdk.plugin import Trigger
from iii_sdk.protocol import (
    ErrorBody,
    RegisterTrigger,
    TriggerRegistrationResult,
    UnregisterTrigger,
    encode,
    from_raw,
)

from ._registrations import Registrations, TriggerTypeRegistration

__all__ = ["Providers"]

log = logging.getLogger("iii.sdk")

Op = Callable[[], Awaitable[None]]


class Providers:
    """Runs deliveries and removals of bindings against the local trigger type providers."""

    def __init__(
        self,
        registrations: Registrations,
        send_on: Callable[[int, bytes], Coroutine[Any, Any, None]],
    ) -> None:
        self._registrations = registrations
        self._send_on = send_on
        self._chains: dict[str, asyncio.Task[None]] = {}

    def deliver(self, message: RegisterTrigger, generation: int) -> None:
        """Handle a binding delivered by the engine."""
        entry = self._registrations.trigger_types.get(message.trigger_type)
        if entry is None:
            return  # not ours (any more): like upstream, answer nothing
        trigger = Trigger(
            id=message.id,
            trigger_type=message.trigger_type,
            function_id=message.function_id,
            config=from_raw(message.config),
            metadata=from_raw(message.metadata),
            namespace=message.namespace or "default",
        )

        async def register() -> None:
            await self._register(entry, trigger, generation)

        self._chain(trigger.id, register)

    def remove(self, message: UnregisterTrigger) -> None:
        """Handle the engine's removal of a binding."""
        for entry in self._entries(message.trigger_type):
            if message.id in entry.active:
                self._unregister(entry, message.id)
                return

    def drop(self, trigger_type: str | None = None) -> None:
        """Stop serving every binding (connection lost), or those of one type."""
        for entry in self._entries(trigger_type):
            for trigger_id in list(entry.active):
                self._unregister(entry, trigger_id)

    def drop_entry(self, entry: TriggerTypeRegistration) -> None:
        """Stop serving the bindings of a type that was just unregistered locally."""
        for trigger_id in list(entry.active):
            self._unregister(entry, trigger_id)

    async def close(self) -> None:
        """Wait for running operations to finish (bounded by the caller)."""
        tasks = list(self._chains.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _entries(self, trigger_type: str | None) -> list[TriggerTypeRegistration]:
        types = self._registrations.trigger_types
        if trigger_type is None:
            return list(types.values())
        entry = types.get(trigger_type)
        return [entry] if entry is not None else []

    def _unregister(self, entry: TriggerTypeRegistration, trigger_id: str) -> None:
        async def unregister() -> None:
            trigger = entry.active.pop(trigger_id, None)
            if trigger is None:
                return
            try:
                await entry.provider.unregister_trigger(trigger)
            except Exception:
                log.exception(
                    "trigger type %s failed to unregister %s", entry.handle.id, trigger_id
                )

        self._chain(trigger_id, unregister)

    async def _register(
        self, entry: TriggerTypeRegistration, trigger: Trigger, generation: int
    ) -> None:
        previous = entry.active.pop(trigger.id, None)
        if previous is not None:
            try:
                await entry.provider.unregister_trigger(previous)
            except Exception:
                log.exception(
                    "trigger type %s failed to unregister %s", trigger.trigger_type, trigger.id
                )
        error: ErrorBody | None = None
        try:
            await entry.provider.register_trigger(trigger)
        except Exception as exc:
            log.warning("trigger type %s rejected %s: %s", trigger.trigger_type, trigger.id, exc)
            error = ErrorBody(code=TRIGGER_REGISTRATION_FAILED, message=str(exc))
        else:
            entry.active[trigger.id] = trigger
        result = TriggerRegistrationResult(
            id=trigger.id,
            trigger_type=trigger.trigger_type,
            function_id=trigger.function_id,
            error=error,
        )
        await self._send_on(generation, encode(result))

    def _chain(self, trigger_id: str, op: Op) -> None:
        previous = self._chains.get(trigger_id)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await op()

        task = asyncio.get_running_loop().create_task(run())
        self._chains[trigger_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._chains.get(trigger_id) is done:
                del self._chains[trigger_id]

        task.add_done_callback(forget)
