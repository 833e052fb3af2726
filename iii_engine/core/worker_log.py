"""The engine's log lines about worker connections.

A worker is only known by name once it calls ``engine::workers::register``, so the socket
itself is logged at DEBUG and the named line comes with the registration:
``worker connected: math-worker (python, pid 123, id ...)``. A name seen before in this
engine's life is ``worker reconnected``. The CLI's own short-lived connections (names starting
with ``iii-cli:``) log at DEBUG only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = ["CLI_PREFIX", "WorkerLog"]

log = logging.getLogger("iii.engine")

CLI_PREFIX: Final = "iii-cli:"
_MAX_NAMES: Final = 10_000
"""Names remembered for "reconnected" (bounded; a churn of unique names forgets the oldest)."""


def _level(name: str | None) -> int:
    return logging.DEBUG if name is not None and name.startswith(CLI_PREFIX) else logging.INFO


class WorkerLog:
    """Remembers worker names seen, to tell a reconnect from a first connect."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], None] = {}
        self._announced: set[str] = set()

    def socket_open(self, conn: Peer) -> None:
        """A socket was accepted (its name is not known yet)."""
        log.debug("worker socket opened: %s (%s)", conn.worker_id, conn.ip_address or "?")

    def registered(self, conn: Peer, previous_name: str | None) -> None:
        """``engine::workers::register`` succeeded: the named connect line (once per name)."""
        name = conn.name
        if conn.worker_id in self._announced and name == previous_name:
            return  # a metadata update only
        self._announced.add(conn.worker_id)
        again = False
        if name is not None:
            key = (conn.namespace, name)
            again = key in self._seen
            self._seen.pop(key, None)
            self._seen[key] = None
            if len(self._seen) > _MAX_NAMES:
                del self._seen[next(iter(self._seen))]
        details = [str(conn.info.get("runtime") or "unknown runtime")]
        if conn.pid is not None:
            details.append(f"pid {conn.pid}")
        details.append(f"id {conn.worker_id}")
        verb = "reconnected" if again else "connected"
        shown = name or "(unnamed)"
        log.log(_level(name), "worker %s: %s (%s)", verb, shown, ", ".join(details))

    def disconnected(self, conn: Peer) -> None:
        """The connection is gone and cleaned up (INFO only if its connect line was)."""
        name = conn.name
        announced = conn.worker_id in self._announced
        self._announced.discard(conn.worker_id)
        level = _level(name) if announced else logging.DEBUG
        log.log(level, "worker disconnected: %s (id %s)", name or "(unnamed)", conn.worker_id)
