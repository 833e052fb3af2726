"""What a session hands its connection, and what the connection reports back.

The connection (:mod:`iii_sdk._connection`) deals in bytes only. These are the few types the
two sides share: what a send does while no socket takes frames (:data:`Offline`, possibly on
behalf of an :class:`Outbound` such as a call awaiting its result), what a fresh socket starts
with (:class:`Opening`), and the error for a worker that will not connect again.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, Protocol, TypeAlias

__all__ = ["ConnectionClosed", "Offline", "Opening", "Outbound"]


class ConnectionClosed(ConnectionError):
    """The worker was closed, or stopped reconnecting after a fatal error."""


class Outbound(Protocol):
    """A frame that waits in the offline queue on behalf of someone (a call awaiting a result)."""

    def sent(self, generation: int) -> bool:
        """The frame is about to go out on socket ``generation``; False drops it (given up)."""
        ...

    def dropped(self) -> None:
        """The frame was pushed out of the full offline queue."""
        ...


Offline: TypeAlias = Literal["drop", "replay", "queue"] | Outbound
"""What a send does outside *ready*: ``"drop"`` the frame; ``"replay"`` (registrations) drop it
while offline, because the replay re-sends every registration, but queue it while the replay is
running; ``"queue"`` it; or queue it for an :class:`Outbound`, told when it goes out."""


class Opening(NamedTuple):
    """What a fresh socket starts with: ``replay``, then the offline queue, then ``greeting``."""

    replay: list[bytes]
    greeting: list[bytes]
