"""What a session hands its connection, and what the connection reports back.

The connection (:mod:`iii_sdk._connection`) deals in bytes only. These are the few types the
two sides share: what a send does while no socket takes frames (:data:`Offline`, possibly on
behalf of an :class:`Outbound` such as a call awaiting its result) and where such frames wait
(:class:`OfflineQueue`), what a fresh socket starts with (:class:`Opening`), and the error for a
worker that will not connect again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Final, Literal, NamedTuple, Protocol, TypeAlias

__all__ = [
    "OFFLINE_QUEUE_MAX",
    "ConnectionClosed",
    "Offline",
    "OfflineQueue",
    "Opening",
    "Outbound",
]

OFFLINE_QUEUE_MAX: Final = 1000
"""Frames kept while offline; past this the oldest is pushed out."""


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


class OfflineQueue:
    """The frames sent while no socket takes them, in order, for the next socket."""

    __slots__ = ("_frames",)

    def __init__(self) -> None:
        self._frames: deque[tuple[bytes, Offline]] = deque()

    def __len__(self) -> int:
        return len(self._frames)

    def hold(self, frame: bytes, offline: Offline, *, replaying: bool) -> None:
        """Keep ``frame`` as ``offline`` says (see :data:`Offline`), or drop it.

        When the queue is full the oldest frame is pushed out (its :class:`Outbound` is told).
        """
        if offline == "drop" or (offline == "replay" and not replaying):
            return
        frames = self._frames
        if len(frames) >= OFFLINE_QUEUE_MAX:
            _, pushed_out = frames.popleft()
            if not isinstance(pushed_out, str):
                pushed_out.dropped()
        frames.append((frame, offline))

    def release(self, generation: int) -> Iterator[bytes]:
        """Empty the queue: the frames to write on socket ``generation``, in order (a frame
        whose :class:`Outbound` gave up is left out)."""
        frames = self._frames
        while frames:
            frame, offline = frames.popleft()
            if isinstance(offline, str) or offline.sent(generation):
                yield frame

    def clear(self) -> None:
        """Drop every frame."""
        self._frames.clear()
