"""The owner side of observe.v1: announcing observers to the worker hosting the source.

An owner that declared ``observe.v1`` gets ``functionregistered`` (the complete observer set,
after its ``registerfunction`` was applied and it said who it is), then ``observeradded`` /
``observerremoved`` as observers come and go, each with the function's revision. It acks each
announced observer (``observerack``); only then is the observer ``active``. It also reports
matched local invocations (``invocationsobserved``), which activate the matched observers, and
periodic counts (``localinvocationstats``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from iii_engine.observe.model import SPEAKS_OBSERVE, Observer, ObserverSet
from iii_sdk.observe_protocol import (
    FEATURE_LOCAL_DISPATCH,
    FEATURE_OBSERVE,
    FunctionRegistered,
    InvocationsObserved,
    LocalInvocationStats,
    ObserverAck,
    ObserverAdded,
    ObserverRemoved,
)
from iii_sdk.protocol import encode

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionEntry
    from iii_engine.observe.hub import ObserveHub

__all__ = ["Owners"]

log = logging.getLogger("iii.observe")


class Owners:
    """Announcements, acks and reports of source owners."""

    def __init__(self, hub: ObserveHub) -> None:
        self.hub = hub
        hub.owners = self
        self.declared: set[str] = set()
        """Worker ids that completed ``engine::workers::register`` (their features are known)."""
        self.local_counts: Counter[tuple[str, str]] = Counter()
        self.local_errors: Counter[tuple[str, str]] = Counter()
        self.dropped_reports: Counter[tuple[str, str]] = Counter()

    # --- who must ack ----------------------------------------------------------------------------

    def _owner(self, observers: ObserverSet) -> Peer | None:
        entry = self.hub.functions.get(*observers.key)
        return None if entry is None else entry.owner

    def _capable(self, conn: Peer | None) -> bool:
        return (
            conn is not None
            and not conn.closing
            and conn.worker_id in self.declared
            and FEATURE_OBSERVE in conn.features
        )

    def needs_ack(self, observer: Observer) -> bool:
        """True while the source's owner still has to accept the observer."""
        entry = self.hub.functions.get(*observer.source)
        if entry is None or entry.owner is None:
            return False
        owner = entry.owner
        if owner.worker_id not in self.declared:
            return True  # features not known yet: wait for engine::workers::register
        return FEATURE_OBSERVE in owner.features

    # --- announcements ---------------------------------------------------------------------------

    def announce(self, observers: ObserverSet, observer: Observer) -> None:
        """An observer joined the set."""
        observers.revision += 1
        observer.acked = False
        owner = self._owner(observers)
        if self._capable(owner):
            assert owner is not None
            observer.announced_revision = observers.revision
            owner.post(
                encode(
                    ObserverAdded(
                        function_id=_sent_id(self.hub.functions.get(*observers.key)),
                        namespace=observers.key[0],
                        revision=observers.revision,
                        observer=observer.info(),
                    )
                )
            )

    def withdraw(self, observers: ObserverSet, observer: Observer) -> None:
        """An observer left the set."""
        observers.revision += 1
        owner = self._owner(observers)
        if self._capable(owner):
            assert owner is not None
            owner.post(
                encode(
                    ObserverRemoved(
                        function_id=_sent_id(self.hub.functions.get(*observers.key)),
                        namespace=observers.key[0],
                        revision=observers.revision,
                        id=observer.id,
                    )
                )
            )

    def on_function_registered(self, conn: Peer, entry: FunctionEntry) -> None:
        """``registerfunction`` applied; announce the set once the owner's features are known."""
        if conn.worker_id in self.declared:
            self._send_set(conn, entry)

    def on_worker_registered(self, conn: Peer, function_ids: Collection[str]) -> None:
        """``engine::workers::register`` applied: features known, drain the announcements."""
        self.declared.add(conn.worker_id)
        for function_id in list(function_ids):
            entry = self.hub.functions.get(conn.namespace, function_id)
            if entry is not None and entry.owner is conn:
                self._send_set(conn, entry)
                self.hub.on_function_changed(entry.namespace, entry.function_id)

    def on_disconnect(self, conn: Peer) -> None:
        """Forget the connection."""
        self.declared.discard(conn.worker_id)

    def _send_set(self, conn: Peer, entry: FunctionEntry) -> None:
        observers = self.hub.sets.get((entry.namespace, entry.function_id))
        members = [o for o in observers.observers.values() if o.live] if observers else []
        revision = observers.revision if observers else 0
        for observer in members:
            observer.acked = False
            observer.announced_revision = revision
        if FEATURE_OBSERVE not in conn.features:
            return
        if entry.observers is None:
            entry.observers = SPEAKS_OBSERVE
        conn.post(
            encode(
                FunctionRegistered(
                    id=entry.function_id,
                    namespace=entry.namespace,
                    revision=revision,
                    local_dispatch=FEATURE_LOCAL_DISPATCH in conn.features,
                    observers=[o.info() for o in members],
                )
            )
        )
        for observer in members:
            self.hub.refresh(observer)

    # --- frames from owners ----------------------------------------------------------------------

    def on_ack(self, conn: Peer, msg: ObserverAck) -> None:
        """``observerack``: accept or reject an announced observer."""
        key = (msg.namespace or conn.namespace, msg.function_id)
        observer = self.hub.by_id.get(msg.id)
        entry = self.hub.functions.get(*key)
        if observer is None or observer.source != key or entry is None or entry.owner is not conn:
            return
        if msg.revision != observer.announced_revision:
            return  # stale
        if msg.error is not None:
            self.hub.fail(observer, msg.error.code, msg.error.message)
            return
        observer.acked = True
        self.hub.refresh(observer)

    def on_report(self, conn: Peer, msg: InvocationsObserved) -> None:
        """``invocationsobserved``: activate the matched observers of each item."""
        activations = self.hub.activations
        assert activations is not None
        for item in msg.items:
            if not isinstance(item, dict):
                continue
            function_id = item.get("function_id")
            if not isinstance(function_id, str):
                continue
            namespace = item.get("namespace")
            key = (namespace if isinstance(namespace, str) else conn.namespace, function_id)
            entry = self.hub.functions.get(*key)
            observers = self.hub.sets.get(key)
            if entry is None or entry.owner is not conn or observers is None:
                continue
            status = "error" if item.get("status") == "error" else "success"
            doc: dict[str, Any] = {
                k: item[k] for k in ("input", "output", "error", "caller", "metadata") if k in item
            }
            event = activations.event_from_report(entry, item)
            matched = item.get("matched")
            for observer_id in matched if isinstance(matched, list) else ():
                observer = (
                    observers.observers.get(observer_id) if isinstance(observer_id, str) else None
                )
                if observer is None:
                    continue
                if observer.state != "active":
                    code = "SUSPENDED" if observer.state == "suspended" else "INACTIVE"
                    observer.dropped[code] += 1
                    continue
                activations.activate(observer, event, status, doc)

    def on_stats(self, conn: Peer, msg: LocalInvocationStats) -> None:
        """``localinvocationstats``: add to the per-function counters."""
        for row in msg.functions:
            if isinstance(row, dict) and isinstance(row.get("function_id"), str):
                key = (conn.namespace, row["function_id"])
                self.local_counts[key] += _count(row.get("count"))
                self.local_errors[key] += _count(row.get("errors"))
        for row in msg.dropped_reports:
            if isinstance(row, dict) and isinstance(row.get("reason"), str):
                self.dropped_reports[(str(row.get("function_id")), row["reason"])] += _count(
                    row.get("count")
                )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _sent_id(entry: FunctionEntry | None) -> str:
    return "" if entry is None else entry.function_id
