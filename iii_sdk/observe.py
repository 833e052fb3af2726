"""Observers: run a function of yours on every matching call of another function.

::

    watcher.register_function("alerts::big-charge", on_big_charge)
    observer = watcher.observe(
        "billing::charge",
        "alerts::big-charge",
        filters={"input.amount": {"$gte": 500}},
        capture=["input", "output", "caller"],
        max_fires=100,
    )
    await observer.ready()       # active: the engine evaluates the filter on every call
    ...
    observer.dispose()

The target receives the ``Observed`` envelope (``observer_id``, ``activation_id``,
``function_id``, ``namespace``, ``invocation_id``, ``status``, the captured ``input`` /
``output`` / ``error`` / ``caller`` / ``metadata``, ``started_at_ms``, ``duration_ms``), or
only the input or the output with ``deliver="input"``/``"output"``. The filter language is
described in ``docs/sdk.md``; the engine validates it (``INVALID_FILTER``).

Observers live in the engine; the worker replays them (same ids) after every reconnect.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from iii_sdk.errors import IIIError, ProtocolError
from iii_sdk.observe_protocol import (
    FunctionRef,
    Observe,
    ObserveResult,
    ObserverStateChanged,
    ObserveSourceWire,
    Unobserve,
    decode_observe_frame,
)
from iii_sdk.protocol import UNSET, encode, to_raw

__all__ = ["ObserveRejected", "Observer", "Observers"]

SETTLED = ("active", "error", "disposed")


class ObserveRejected(IIIError):
    """The engine refused or ended the observer (``code``: ``INVALID_FILTER``, ``MAX_FIRES``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Observer:
    """A handle on one observer: its state, the reason of its last change, and ``dispose``."""

    def __init__(self, observers: Observers, observer_id: str, frame: bytes) -> None:
        self._observers = observers
        self.id = observer_id
        self.frame = frame
        self.state = "pending"
        """``pending``, ``active``, ``suspended``, ``error`` or ``disposed``."""
        self.reason: dict[str, str] | None = None
        self.fires = 0
        self.warnings: list[str] = []
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[Observer], None]] = []

    async def ready(self) -> None:
        """Wait until the observer is ``active``; raise :class:`ObserveRejected` if it ends.

        Bound the wait with ``asyncio.timeout`` (a target not registered yet keeps it pending).
        """
        while self.state not in SETTLED:
            self._changed.clear()
            await self._changed.wait()
        if self.state != "active":
            reason = self.reason or {"code": self.state.upper(), "message": self.state}
            raise ObserveRejected(reason.get("code", ""), reason.get("message", ""))

    def on_change(self, listener: Callable[[Observer], None]) -> Callable[[], None]:
        """Call ``listener(observer)`` on every state change; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def dispose(self) -> None:
        """Remove the observer: no activation starts after the engine read this."""
        if self.state == "disposed":
            return
        self._observers.dispose(self)

    def _update(self, state: str, reason: dict[str, str] | None, fires: int | None) -> None:
        self.state = state
        self.reason = reason
        if fires is not None:
            self.fires = fires
        self._changed.set()
        for listener in list(self._listeners):
            listener(self)

    def __repr__(self) -> str:
        return f"<Observer {self.id} {self.state}>"


class Observers:
    """The observers a worker created; frames go out through ``send`` (None while offline)."""

    def __init__(self, send: Callable[[bytes], bool]) -> None:
        self._send = send
        self.live: dict[str, Observer] = {}
        self.online = False

    def create(
        self,
        source: str,
        target: str,
        *,
        source_namespace: str | None = None,
        target_namespace: str | None = None,
        filters: dict[str, Any] | None = None,
        capture: list[str] | None = None,
        on: str | None = None,
        deliver: str | None = None,
        args: dict[str, Any] | None = None,
        metadata: Any = None,
        max_fires: int | None = None,
        expires_in_ms: int | None = None,
        max_in_flight: int | None = None,
        observer_id: str | None = None,
    ) -> Observer:
        """Build the ``observe`` frame, keep the handle, send it when online."""
        observer_id = observer_id or str(uuid.uuid4())
        frame = Observe(
            id=observer_id,
            source=ObserveSourceWire(
                function_id=source,
                namespace=source_namespace,
                args=UNSET if args is None else to_raw(args),
                filters=UNSET if filters is None else to_raw(filters),
                capture=capture,
                on=on,
                deliver=deliver,
            ),
            target=FunctionRef(function_id=target, namespace=target_namespace),
            metadata=UNSET if metadata is None else to_raw(metadata),
            max_fires=max_fires,
            expires_in_ms=expires_in_ms,
            max_in_flight=max_in_flight,
        )
        observer = Observer(self, observer_id, encode(frame))
        self.live[observer_id] = observer
        if self.online:
            self._send(observer.frame)
        return observer

    def dispose(self, observer: Observer) -> None:
        """Send ``unobserve`` (dropped while offline: the replay then leaves it out)."""
        self.live.pop(observer.id, None)
        if self.online:
            self._send(encode(Unobserve(id=observer.id)))
        observer._update("disposed", {"code": "UNOBSERVED", "message": "disposed"}, None)

    def on_registered(self) -> None:
        """A connection is registered: (re)send every live observer, same ids."""
        self.online = True
        for observer in list(self.live.values()):
            self._send(observer.frame)

    def on_disconnected(self) -> None:
        """Offline until the next ``workerregistered``."""
        self.online = False

    def on_frame(self, data: bytes) -> bool:
        """Apply ``observeresult`` / ``observerstatechanged``; False for any other frame."""
        try:
            frame = decode_observe_frame(data)
        except ProtocolError:
            return False
        if isinstance(frame, ObserveResult | ObserverStateChanged):
            observer = self.live.get(frame.id)
            if observer is None:
                return True
            if isinstance(frame, ObserveResult):
                reason = frame.error
                fires = None
                observer.warnings = list(frame.warnings or [])
            else:
                reason = frame.reason
                fires = frame.fires
            body = None if reason is None else {"code": reason.code, "message": reason.message}
            if frame.state in ("error", "disposed"):
                self.live.pop(frame.id, None)
            observer._update(frame.state, body, fires)
        return True
