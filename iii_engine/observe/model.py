"""One observer and the set of observers of one source function.

An observer belongs to the *source* function's key ``(namespace, function_id)``, not to a
connection: it may predate the source's registration and outlives owner reconnects. Its
observing worker is the connection that sent ``observe`` (``None`` while that worker is away,
during the grace period).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, Raw, UnsetType

from iii_engine.observe.filters import Pred

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = [
    "DEFAULT_CAPTURE",
    "DEFAULT_MAX_IN_FLIGHT",
    "LOOP_GUARD_DEPTH",
    "MAX_QUEUED",
    "SPEAKS_OBSERVE",
    "Key",
    "Observer",
    "ObserverSet",
]

Key = tuple[str, str]
DEFAULT_CAPTURE = ("input", "output", "caller")
CAPTURES = frozenset(("input", "output", "error", "caller", "metadata"))
ONS = frozenset(("success", "error", "complete"))
DELIVERS = frozenset(("envelope", "input", "output"))
DEFAULT_MAX_IN_FLIGHT = 64
MAX_QUEUED = 10_000
LOOP_GUARD_DEPTH = 8


class _SpeaksObserve:
    """Marker on an entry without observers whose owner declared ``observe.v1``: its calls
    still take the observe path, which stamps ``caller`` and forwards ``observe_depth``."""

    def __repr__(self) -> str:
        return "SPEAKS_OBSERVE"


SPEAKS_OBSERVE: Any = _SpeaksObserve()


@dataclass(eq=False)
class Observer:
    """One observer, its policy and its counters."""

    id: str
    source: Key
    target: Key
    args: dict[str, Any]
    filters: dict[str, Any]
    pred: Pred
    capture: tuple[str, ...]
    on: str
    deliver: str
    metadata: Raw | UnsetType = UNSET
    max_fires: int | None = None
    expires_in_ms: int | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    conn: Peer | None = None
    worker_id: str = ""
    worker: tuple[str, str | None] = ("", None)
    """The observing worker's namespace and name (a replay within the grace period matches it)."""
    reattach_token: str | None = None
    state: str = "pending"
    reason: dict[str, str] | None = None
    fires: int = 0
    in_flight: int = 0
    queue: deque[Any] = field(default_factory=deque)
    dropped: Counter[str] = field(default_factory=Counter)
    created_at_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    acked: bool = False
    """The owner connection acknowledged it (or needs no ack)."""
    announced_revision: int = -1
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    grace: asyncio.TimerHandle | None = None
    """Runs out when the observing worker stays away (disposal)."""

    @property
    def live(self) -> bool:
        """Not disposed and not in error."""
        return self.state not in ("disposed", "error")

    def definition(self) -> tuple[Any, ...]:
        """What a replay must match to re-bind instead of replacing it."""
        return (
            self.source,
            self.target,
            self.args,
            self.filters,
            self.capture,
            self.on,
            self.deliver,
        )

    def info(self) -> dict[str, Any]:
        """The owner's view (``ObserverInfo``): no metadata, policy or observing worker."""
        from iii_engine.observe.filters import normal_form

        return {
            "id": self.id,
            "args": self.args,
            "filters": normal_form(self.filters),
            "target": self.target[1],
            "capture": list(self.capture),
            "on": self.on,
        }

    def cancel_timers(self) -> None:
        """Cancel expiry and grace timers."""
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None


@dataclass(eq=False)
class ObserverSet:
    """Every observer of one source function, in creation order."""

    key: Key
    observers: dict[str, Observer] = field(default_factory=dict)
    revision: int = 0

    def active(self) -> list[Observer]:
        """The observers that activate now."""
        return [o for o in self.observers.values() if o.state == "active"]
