"""The engine's observer table: ``observe``/``unobserve``, states, timers, reconnects.

:class:`ObserveHub` keeps every observer by id and by source function (an
:class:`ObserverSet` the function registry hangs on the source's entry, so the router's hot
path only tests ``entry.observers is None``). States follow the functions coming and going:
``pending`` until source and target are registered (and the owner acked), ``active`` then,
``suspended`` while the observing worker is away (kept :attr:`grace_s`), ``error`` and
``disposed`` are final. Routed calls and activations live in :mod:`iii_engine.observe.routed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from iii_engine.core.registry import FunctionRegistry
from iii_engine.observe.model import SPEAKS_OBSERVE, Key, Observer, ObserverSet
from iii_engine.observe.validate import Refused, build_observer, check_access, check_source
from iii_sdk.observe_protocol import (
    FEATURE_OBSERVE,
    Observe,
    ObserveResult,
    ObserverStateChanged,
    Unobserve,
)
from iii_sdk.protocol import ErrorBody, Message, encode

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionEntry
    from iii_engine.observe.events import Event

__all__ = ["GRACE_S", "ActivationSink", "ObserveHub", "OwnerSink"]

log = logging.getLogger("iii.observe")

GRACE_S = 30.0
ID_IN_USE = "ID_IN_USE"
OBSERVER_DISCONNECTED = "OBSERVER_DISCONNECTED"


class ActivationSink(Protocol):
    """What the hub and the owners use of :class:`~iii_engine.observe.routed.Activations`."""

    def pump(self, observer: Observer) -> None: ...

    def event_from_report(self, entry: FunctionEntry, item: dict[str, Any]) -> Event: ...

    def activate(
        self, observer: Observer, event: Event, status: str, doc: dict[str, Any]
    ) -> None: ...


class OwnerSink(Protocol):
    """What the hub uses of :class:`~iii_engine.observe.owners.Owners`."""

    def needs_ack(self, observer: Observer) -> bool: ...

    def announce(self, observers: ObserverSet, observer: Observer) -> None: ...

    def withdraw(self, observers: ObserverSet, observer: Observer) -> None: ...


class ObserveHub:
    """Every observer of the engine."""

    def __init__(
        self,
        functions: FunctionRegistry,
        *,
        call_later: Callable[[float, Callable[[], None]], asyncio.TimerHandle] | None = None,
    ) -> None:
        self.functions = functions
        self.by_id: dict[str, Observer] = {}
        self.sets: dict[Key, ObserverSet] = {}
        self.by_target: dict[Key, set[Observer]] = {}
        self.tombstones: dict[str, dict[str, str]] = {}
        self.grace_s = GRACE_S
        self._call_later = call_later
        self._timers: set[asyncio.TimerHandle] = set()
        self.activations: ActivationSink | None = None
        self.owners: OwnerSink | None = None
        functions.observed = self.sets
        functions.listener = self.on_function_changed

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        """Schedule ``callback`` (the injectable clock of expiry and grace)."""
        timers = self._timers

        def fire() -> None:
            timers.discard(handle)
            callback()

        if self._call_later is not None:
            handle = self._call_later(delay_s, fire)
        else:
            handle = asyncio.get_running_loop().call_later(delay_s, fire)
        timers.add(handle)
        return handle

    def close(self) -> None:
        """Cancel every timer (engine shutdown)."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    # --- frames from observing workers -----------------------------------------------------------

    def on_observe(self, conn: Peer, msg: Observe) -> None:
        """Create an observer or re-bind a replayed one; always answer ``observeresult``."""
        existing = self.by_id.get(msg.id)
        if existing is not None:
            self._replay(conn, existing, msg)
            return
        tomb = self.tombstones.get(msg.id)
        if tomb is not None:
            self._send(conn, ObserveResult(id=msg.id, state="disposed", error=_body(tomb)))
            return
        try:
            observer = build_observer(msg)
            if conn.session is not None:
                check_access(observer, conn.session, self.functions)
            entry = self.functions.get(*observer.source)
            if entry is not None:
                check_source(observer, entry)
        except Refused as exc:
            self._send(
                conn,
                ObserveResult(id=msg.id, state="error", error=ErrorBody(exc.code, exc.message)),
            )
            return
        observer.conn = conn
        observer.worker_id = conn.worker_id
        observer.worker = (conn.namespace, conn.name)
        observer.reattach_token = conn.reattach_token
        self._attach(observer)
        observer.state = self._desired(observer)
        self._send(conn, ObserveResult(id=observer.id, state=observer.state))
        if observer.expires_in_ms is not None:
            observer.timers.append(
                self.call_later(
                    observer.expires_in_ms / 1000,
                    lambda: self.dispose(observer, "EXPIRED", "the observer expired"),
                )
            )

    def _replay(self, conn: Peer, observer: Observer, msg: Observe) -> None:
        away = observer.conn is None
        mine = observer.conn is conn or (
            away
            and (
                observer.worker_id == conn.worker_id
                or (conn.name is not None and observer.worker == (conn.namespace, conn.name))
            )
        )
        if not mine:
            self._send(
                conn,
                ObserveResult(
                    id=msg.id,
                    state="error",
                    error=ErrorBody(ID_IN_USE, f"observer id {msg.id} belongs to another worker"),
                ),
            )
            return
        self.rebind(observer, conn)
        self._send(conn, ObserveResult(id=observer.id, state=observer.state))

    def on_unobserve(self, conn: Peer, msg: Unobserve) -> None:
        """Remove an observer the sender owns; no reply."""
        observer = self.by_id.get(msg.id)
        if observer is None or observer.conn is not conn:
            return
        self._remove(observer)
        observer.state = "disposed"

    # --- lifecycle -------------------------------------------------------------------------------

    def dispose(self, observer: Observer, code: str, message: str) -> None:
        """Dispose: tell the observing worker, detach, keep a tombstone for the grace period."""
        if self.by_id.get(observer.id) is not observer:
            return
        reason = {"code": code, "message": message}
        observer.reason = reason
        self._set_state(observer, "disposed")
        self._remove(observer)
        self.tombstones[observer.id] = reason
        self.call_later(self.grace_s, lambda: self._forget(observer.id))

    def _forget(self, observer_id: str) -> None:
        self.tombstones.pop(observer_id, None)

    def fail(self, observer: Observer, code: str, message: str) -> None:
        """Move to ``error`` (owner rejection, or a source that refuses it) and detach."""
        if self.by_id.get(observer.id) is not observer:
            return
        observer.reason = {"code": code, "message": message}
        self._set_state(observer, "error")
        self._remove(observer)

    def rebind(self, observer: Observer, conn: Peer) -> None:
        """The observing worker is back on ``conn``."""
        observer.conn = conn
        observer.worker_id = conn.worker_id
        observer.worker = (conn.namespace, conn.name)
        observer.reattach_token = conn.reattach_token
        if observer.grace is not None:
            observer.grace.cancel()
            self._timers.discard(observer.grace)
            observer.grace = None
        if observer.state == "suspended":
            observer.reason = None
        self.refresh(observer)

    def on_reattach(self, conn: Peer, previous_id: str, token: str | None) -> None:
        """A worker reconnected with ``reattach``: its observers follow it."""
        for observer in list(self.by_id.values()):
            if observer.worker_id == previous_id and token and observer.reattach_token == token:
                self.rebind(observer, conn)

    def on_disconnect(self, conn: Peer) -> None:
        """Suspend the observers of a worker that left; dispose them after the grace period."""
        for observer in list(self.by_id.values()):
            if observer.conn is not conn:
                continue
            observer.conn = None
            observer.state = "suspended"
            observer.reason = {"code": OBSERVER_DISCONNECTED, "message": "observing worker left"}
            observer.grace = self.call_later(self.grace_s, _bound(self._grace_over, observer))

    def _grace_over(self, observer: Observer) -> None:
        if observer.conn is None:
            self.dispose(observer, OBSERVER_DISCONNECTED, "observing worker did not come back")

    def on_function_changed(self, namespace: str, function_id: str) -> None:
        """A function was registered or removed: re-check what it is source or target of."""
        key = (namespace, function_id)
        observers = self.sets.get(key)
        if observers is not None:
            entry = self.functions.get(*key)
            for observer in list(observers.observers.values()):
                if entry is None:
                    observer.acked = False  # the next owner acks again
                else:
                    try:
                        check_source(observer, entry)
                    except Refused as exc:
                        self.fail(observer, exc.code, exc.message)
                        continue
                self.refresh(observer)
        for observer in list(self.by_target.get(key, ())):
            self.refresh(observer)

    def refresh(self, observer: Observer) -> None:
        """Recompute the state and announce a change."""
        if observer.live:
            self._set_state(observer, self._desired(observer))

    def _desired(self, observer: Observer) -> str:
        if observer.conn is None:
            return "suspended"
        if self.functions.get(*observer.source) is None:
            return "pending"
        if self.functions.get(*observer.target) is None:
            return "pending"
        if not observer.acked and (self.owners is None or self.owners.needs_ack(observer)):
            return "pending"
        return "active"

    def _set_state(self, observer: Observer, state: str) -> None:
        if observer.state == state:
            return
        observer.state = state
        if state == "active":
            observer.reason = None
            if self.activations is not None:
                self.activations.pump(observer)
        conn = observer.conn
        if conn is not None:
            reason = _body(observer.reason) if observer.reason else None
            self._send(
                conn,
                ObserverStateChanged(
                    id=observer.id, state=state, reason=reason, fires=observer.fires
                ),
            )

    # --- indexes ---------------------------------------------------------------------------------

    def _attach(self, observer: Observer) -> None:
        self.by_id[observer.id] = observer
        observers = self.sets.get(observer.source)
        if observers is None:
            observers = self.sets[observer.source] = ObserverSet(observer.source)
            entry = self.functions.get(*observer.source)
            if entry is not None:
                entry.observers = observers
        observers.observers[observer.id] = observer
        self.by_target.setdefault(observer.target, set()).add(observer)
        if self.owners is not None:
            self.owners.announce(observers, observer)

    def _remove(self, observer: Observer) -> None:
        if self.by_id.get(observer.id) is not observer:
            return
        del self.by_id[observer.id]
        self._timers.difference_update(observer.timers)
        if observer.grace is not None:
            self._timers.discard(observer.grace)
        observer.cancel_timers()
        observer.queue.clear()
        targets = self.by_target.get(observer.target)
        if targets is not None:
            targets.discard(observer)
            if not targets:
                del self.by_target[observer.target]
        observers = self.sets.get(observer.source)
        if observers is None:
            return
        observers.observers.pop(observer.id, None)
        if self.owners is not None:
            self.owners.withdraw(observers, observer)
        if not observers.observers:
            del self.sets[observer.source]
            entry = self.functions.get(*observer.source)
            if entry is not None and entry.observers is observers:
                owner = entry.owner
                speaks = owner is not None and FEATURE_OBSERVE in owner.features
                entry.observers = SPEAKS_OBSERVE if speaks else None

    # --- sending ---------------------------------------------------------------------------------

    @staticmethod
    def _send(conn: Peer, frame: Message) -> None:
        features = conn.features
        if FEATURE_OBSERVE in features or "observing" in features:
            conn.post(encode(frame))

    def get_info(self, observer_id: str) -> dict[str, Any] | None:
        """The row of ``engine::observers::get``."""
        observer = self.by_id.get(observer_id)
        if observer is None:
            return None
        row: dict[str, Any] = {
            "id": observer.id,
            "state": observer.state,
            "source": {
                "function_id": observer.source[1],
                "namespace": observer.source[0],
                "args": observer.args,
                "filters": observer.filters,
                "capture": list(observer.capture),
                "on": observer.on,
                "deliver": observer.deliver,
            },
            "target": {"function_id": observer.target[1], "namespace": observer.target[0]},
            "max_in_flight": observer.max_in_flight,
            "fires": observer.fires,
            "in_flight": observer.in_flight,
            "queued": len(observer.queue),
            "dropped": dict(observer.dropped),
            "worker_id": observer.worker_id,
            "created_at_ms": observer.created_at_ms,
        }
        if observer.reason:
            row["reason"] = observer.reason
        if observer.max_fires is not None:
            row["max_fires"] = observer.max_fires
        if observer.expires_in_ms is not None:
            row["expires_at_ms"] = observer.created_at_ms + observer.expires_in_ms
        return row


def _bound(callback: Callable[[Observer], None], observer: Observer) -> Callable[[], None]:
    return lambda: callback(observer)


def _body(reason: dict[str, str]) -> ErrorBody:
    return ErrorBody(code=reason.get("code", ""), message=reason.get("message", ""))
