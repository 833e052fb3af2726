"""Fan-out of stream events to WebSocket subscriptions, without ever waiting for a socket.

An event is encoded once into a WebSocket text frame and queued for every matching subscription
(``streamName`` and ``groupId`` equal, and ``id`` equal when the subscription names an item; a
socket gets the frame once per matching subscription). The frames a socket collects during one
event-loop iteration go out in one transport write. Nothing is awaited: each socket has a
bounded send buffer (``send_buffer_bytes``: queued frames plus the transport's buffer), and a
socket whose client does not read fast enough to keep under it is dropped with close code
:data:`CLOSE_TOO_SLOW` (4008). The writer, and every other subscriber, carry on.

A subscription joins the index before its initial ``sync`` is read; events that arrive in between
are held and sent right after the ``sync``, so none is lost and the order is kept.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any, Final

from plugins.stream.clock import EventClock

__all__ = [
    "CLOSE_TOO_MANY_SUBSCRIPTIONS",
    "CLOSE_TOO_SLOW",
    "CLOSE_UNAUTHORIZED",
    "Flusher",
    "Hub",
    "Subscriber",
    "Subscription",
    "text_frame",
]

CLOSE_UNAUTHORIZED: Final = 4001
"""The ``auth_function`` failed or did not return ``{"context": ...}``."""
CLOSE_TOO_SLOW: Final = 4008
"""The socket's send buffer overflowed: the client does not read fast enough."""
CLOSE_TOO_MANY_SUBSCRIPTIONS: Final = 1008
"""One more ``join`` than ``max_subscriptions_per_socket`` (policy violation)."""
ABORT_AFTER_S: Final = 5.0
"""A dropped socket whose client still does not read is aborted after this long."""


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final WebSocket text frame (server to client) carrying ``payload``."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def close_frame(code: int, reason: str) -> bytes:
    """An unmasked WebSocket close frame."""
    payload = struct.pack("!H", code) + reason.encode()[:120]
    return bytes((0x88, len(payload))) + payload


class Flusher:
    """Writes what subscribers queued during one event-loop iteration, one ``write`` each.

    Events written in a burst (a writer with many calls in flight) reach a socket as one send
    instead of one per event; a single ``call_soon`` per iteration serves every socket.
    """

    __slots__ = ("_dirty", "_scheduled")

    def __init__(self) -> None:
        self._dirty: list[Subscriber] = []
        self._scheduled = False

    def mark(self, subscriber: Subscriber) -> None:
        """Flush ``subscriber`` at the end of this iteration."""
        self._dirty.append(subscriber)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write every queued frame."""
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for subscriber in dirty:
            subscriber.flush()


class Subscriber:
    """One WebSocket connection: its transport, bound, queued frames and subscriptions."""

    __slots__ = (
        "closed",
        "context",
        "flusher",
        "limit",
        "on_drop",
        "pending",
        "pending_bytes",
        "subscriptions",
        "transport",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        limit: int,
        context: Any,
        on_drop: Callable[[Subscriber], None],
        flusher: Flusher,
    ) -> None:
        self.transport = transport
        self.limit = limit
        self.context = context
        self.on_drop = on_drop
        self.flusher = flusher
        self.subscriptions: dict[str, Subscription] = {}
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.closed = False

    def write(self, frame: bytes) -> None:
        """Queue ``frame`` for this iteration's flush, or drop the socket if its buffer is full."""
        if self.closed:
            return
        transport = self.transport
        if transport.is_closing():
            self.closed = True
            return
        size = self.pending_bytes + len(frame)
        if transport.get_write_buffer_size() + size > self.limit:
            self.drop(CLOSE_TOO_SLOW, "send buffer overflow: the client reads too slowly")
            return
        if not self.pending:
            self.flusher.mark(self)
        self.pending.append(frame)
        self.pending_bytes = size

    def flush(self) -> None:
        """Hand the queued frames to the transport in one write."""
        pending = self.pending
        if not pending:
            return
        self.pending = []
        self.pending_bytes = 0
        if self.closed or self.transport.is_closing():
            return
        self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def drop(self, code: int, reason: str) -> None:
        """Close with ``code`` now (after what is buffered); abort if the client never reads."""
        if self.closed:
            return
        self.flush()
        self.closed = True
        transport = self.transport
        if not transport.is_closing():
            transport.write(close_frame(code, reason))
            transport.close()
            asyncio.get_running_loop().call_later(ABORT_AFTER_S, transport.abort)
        self.on_drop(self)


class Subscription:
    """A ``join``: which items a socket wants, under the client's ``subscriptionId``."""

    __slots__ = ("group", "held", "held_bytes", "id", "item", "stream", "subscriber")

    def __init__(
        self, subscriber: Subscriber, sub_id: str, stream: str, group: str, item: str | None
    ) -> None:
        self.subscriber = subscriber
        self.id = sub_id
        self.stream = stream
        self.group = group
        self.item = item
        self.held: list[bytes] | None = []  # frames that arrived before the sync was sent
        self.held_bytes = 0

    def send(self, frame: bytes) -> None:
        """Write now, or hold until the initial ``sync`` went out (bounded like the buffer)."""
        held = self.held
        if held is None:
            self.subscriber.write(frame)
            return
        held.append(frame)
        self.held_bytes += len(frame)
        if self.held_bytes > self.subscriber.limit:
            self.held = []
            self.subscriber.drop(CLOSE_TOO_SLOW, "send buffer overflow while the sync was read")

    def release(self, sync: bytes) -> None:
        """Send the ``sync`` then the held frames; later frames go straight out."""
        held, self.held = self.held or [], None
        subscriber = self.subscriber
        subscriber.write(sync)
        for frame in held:
            subscriber.write(frame)


class Hub:
    """The subscription index: ``(stream, group) -> item id or None -> subscriptions``."""

    def __init__(self, clock: EventClock | None = None) -> None:
        self._index: dict[tuple[str, str], dict[str | None, dict[Subscription, None]]] = {}
        self.count = 0
        self.flusher = Flusher()
        self.clock = clock or EventClock()
        """Stamps every frame (events and syncs) so subscribers can order them."""

    def add(self, sub: Subscription) -> None:
        """Index ``sub`` (it holds frames until released)."""
        items = self._index.setdefault((sub.stream, sub.group), {})
        items.setdefault(sub.item, {})[sub] = None
        self.count += 1

    def remove(self, sub: Subscription) -> None:
        """Forget ``sub`` (no error if already gone)."""
        where = (sub.stream, sub.group)
        items = self._index.get(where)
        if items is None:
            return
        subs = items.get(sub.item)
        if subs is None or subs.pop(sub, False) is False:
            return
        self.count -= 1
        if not subs:
            del items[sub.item]
            if not items:
                del self._index[where]

    def deliver(self, stream: str, group: str, item: str | None, payload: bytes) -> None:
        """Send the encoded wrapper ``payload`` to every matching subscription."""
        items = self._index.get((stream, group))
        if not items:
            return
        frame = text_frame(payload)
        subs = items.get(None)
        if subs:
            for sub in list(subs):
                sub.send(frame)
        if item is not None:
            subs = items.get(item)
            if subs:
                for sub in list(subs):
                    sub.send(frame)
