"""What a worker has registered, kept to be replayed on every (re)connect, and the handles.

A registration is stored with its pre-encoded frame, so the replay after a reconnect is a
sequence of writes in the upstream Python SDK's order: trigger types, functions, triggers.
Trigger ids are chosen once, client side, so a replayed trigger replaces its earlier binding.
:meth:`Registrations.opening` is the whole start of a fresh socket: a reattach to the previous
worker id first, the replay, then the worker's ``engine::workers::register`` greeting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from iii_sdk.errors import InvocationError, RegistrationRejected
from iii_sdk.handlers import AsyncHandler, never_suspends
from iii_sdk.plugin import Trigger, TriggerType
from iii_sdk.protocol import InvokeFunction, Reattach, VoidAction, encode, to_raw

from ._outbound import Opening

__all__ = [
    "FunctionHandle",
    "FunctionRegistration",
    "Registrations",
    "TriggerHandle",
    "TriggerRegistration",
    "TriggerTypeHandle",
    "TriggerTypeRegistration",
]

log = logging.getLogger("iii.sdk")

WORKERS_REGISTER: Final = "engine::workers::register"


class FunctionHandle:
    """A function this worker exports; :meth:`unregister` withdraws it.

    ``error`` is set when the engine rejects the id (``FUNCTION_NAMESPACE_CONFLICT``: another
    live worker owns it).
    """

    def __init__(self, function_id: str, unregister: Callable[[str], None]) -> None:
        self.function_id = function_id
        self.error: RegistrationRejected | None = None
        self._unregister = unregister

    def unregister(self) -> None:
        """Withdraw the function (sends ``unregisterfunction``)."""
        self._unregister(self.function_id)

    def __repr__(self) -> str:
        return f"FunctionHandle({self.function_id!r})"


class TriggerHandle:
    """A trigger (binding) this worker registered.

    The engine acknowledges nothing on success; a provider's rejection arrives later as a
    ``triggerregistrationresult`` error, stored in :attr:`error` and returned by
    :meth:`rejected`. The engine keeps a rejected binding parked and retries it when its
    trigger type is registered again.
    """

    def __init__(
        self,
        trigger_id: str,
        *,
        trigger_type: str,
        function_id: str,
        config: Any,
        metadata: Any,
        unregister: Callable[[str], None],
    ) -> None:
        self.id = trigger_id
        self.trigger_type = trigger_type
        self.function_id = function_id
        self.config = config
        self.metadata = metadata
        self.error: InvocationError | None = None
        self._unregister = unregister
        self._rejected: asyncio.Future[InvocationError] | None = None

    def unregister(self) -> None:
        """Remove the binding (sends ``unregistertrigger``)."""
        self._unregister(self.id)

    async def rejected(self) -> InvocationError:
        """Wait until the binding is rejected and return the error (code, message)."""
        if self.error is not None:
            return self.error
        if self._rejected is None or self._rejected.done():
            self._rejected = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._rejected)

    def _reject(self, error: InvocationError) -> None:
        self.error = error
        if self._rejected is not None and not self._rejected.done():
            self._rejected.set_result(error)

    def __repr__(self) -> str:
        return f"TriggerHandle({self.id!r}, {self.trigger_type!r} -> {self.function_id!r})"


class TriggerTypeHandle:
    """A trigger type this worker provides; :meth:`unregister` stops providing it."""

    def __init__(self, trigger_type: TriggerType, unregister: Callable[[str], None]) -> None:
        self.id = trigger_type.id
        self.trigger_type = trigger_type
        self._unregister = unregister
        self.error: RegistrationRejected | None = None
        """Set when the engine refuses the type (a built-in worker provides it)."""

    def unregister(self) -> None:
        """Stop providing the type (sends ``unregistertriggertype``)."""
        self._unregister(self.id)

    def __repr__(self) -> str:
        return f"TriggerTypeHandle({self.id!r})"


@dataclass(slots=True)
class FunctionRegistration:
    """A function: its adapted handler (``None`` when HTTP-invoked) and registration frame."""

    handler: AsyncHandler | None
    frame: bytes
    handle: FunctionHandle
    inline: bool = field(init=False)
    """The handler cannot suspend (:func:`~iii_sdk.handlers.never_suspends`): run it on the spot."""

    def __post_init__(self) -> None:
        self.inline = never_suspends(self.handler)


@dataclass(slots=True)
class TriggerTypeRegistration:
    """A local trigger type provider and the bindings it currently serves."""

    provider: TriggerType
    frame: bytes
    handle: TriggerTypeHandle
    active: dict[str, Trigger] = field(default_factory=dict)


@dataclass(slots=True)
class TriggerRegistration:
    """A binding this worker registered."""

    frame: bytes
    handle: TriggerHandle


class Registrations:
    """Every registration of one worker, in insertion order."""

    def __init__(self) -> None:
        self.functions: dict[str, FunctionRegistration] = {}
        self.trigger_types: dict[str, TriggerTypeRegistration] = {}
        self.triggers: dict[str, TriggerRegistration] = {}

    def replay_frames(self) -> list[bytes]:
        """The frames to send on a fresh socket, in the upstream Python SDK's order."""
        frames = [entry.frame for entry in self.trigger_types.values()]
        frames.extend(entry.frame for entry in self.functions.values())
        frames.extend(entry.frame for entry in self.triggers.values())
        return frames

    def opening(self, previous: tuple[str, str | None] | None, metadata: Any) -> Opening:
        """What a fresh socket starts with: a reattach to ``previous`` (worker id and reattach
        token) when there was a socket before, every registration, then the greeting that
        sends this worker's ``metadata``."""
        replay: list[bytes] = []
        if previous is not None:
            worker_id, token = previous
            replay.append(encode(Reattach(previous_worker_id=worker_id, reattach_token=token)))
        replay.extend(self.replay_frames())
        register = InvokeFunction(
            function_id=WORKERS_REGISTER,
            data=to_raw(metadata),
            action=VoidAction(),
            namespace="default",
        )
        return Opening(replay, [encode(register)])

    def trigger_rejected(self, trigger_id: str, error: InvocationError) -> None:
        """Record a provider's rejection on the trigger's handle."""
        entry = self.triggers.get(trigger_id)
        if entry is not None:
            entry.handle._reject(error)

    def function_rejected(self, function_id: str, error: RegistrationRejected) -> None:
        """Record the engine's refusal of a function id on its handle."""
        entry = self.functions.get(function_id)
        if entry is not None:
            entry.handle.error = error
        provided = self.trigger_types.get(function_id)  # a built-in's type refused to us
        if provided is not None:
            provided.handle.error = error
