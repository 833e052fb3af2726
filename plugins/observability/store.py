"""The bounded in-memory stores: spans and logs, each capped in count and in age.

Spans are kept packed: each is one MessagePack ``bytes`` object of its row
(:meth:`SpanRecord.freeze`), rebuilt for queries. A full store is thousands of spans written
once and read rarely; as rows of separate tuples and strings, evicting the oldest and writing
the newest touched a dozen cold objects per span, and under load that cache traffic cost the
engine more than the rest of tracing did. A packed row is one object, about 150-220 bytes, and
the garbage collector never looks at it.

Ended spans are packed in batches: :meth:`SpanStore.add` only puts the span on a pending list,
and every :data:`PRUNE_EVERY` additions (or when anything reads the store) the batch is packed
in one loop. Under load that is ~5 us less engine CPU per HTTP request than packing each span
as it ends, mostly by keeping the packing code and data hot in the cache; nothing reads the
store between two reads, so nobody can tell.

Count: a :class:`collections.deque` with ``maxlen`` drops the oldest entry on overflow. Age:
entries older than the retention are dropped from the old end on every query and every
:data:`PRUNE_EVERY` additions, so memory never grows without limit even when nobody queries.
Both take a ``now_ns`` clock so tests control time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from time import time_ns
from typing import TYPE_CHECKING, Any

import msgspec

from plugins.observability.spans import Row, SpanRecord

if TYPE_CHECKING:
    from plugins.observability.calls import CallSpan

__all__ = ["PRUNE_EVERY", "LogStore", "SpanStore"]

PRUNE_EVERY = 256
"""Additions between two age prunes."""

_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder().decode
_START_NS = 7
"""Where a row keeps its start time."""

Packed = bytes | Row
"""A stored span: its packed row, or the row itself when it cannot be packed (an ingested
attribute holding an integer past 64 bits)."""


def _row(packed: Packed) -> Row:
    if isinstance(packed, bytes):
        return tuple(_unpack(packed))
    return packed


class SpanStore:
    """Finished spans, oldest first, at most ``max_spans`` and at most ``retention_s`` old."""

    def __init__(
        self, max_spans: int, retention_s: float, now_ns: Callable[[], int] = time_ns
    ) -> None:
        self.max_spans = max_spans
        self.retention_ns = int(retention_s * 1e9)
        self._spans: deque[Packed] = deque(maxlen=max_spans)
        self._now_ns = now_ns
        self._pending: list[SpanRecord | CallSpan] = []
        self.dropped = 0
        """Spans evicted for count or age since the start."""

    def add(self, span: SpanRecord | CallSpan) -> None:
        """Keep one finished span (packed with the next batch)."""
        pending = self._pending
        pending.append(span)
        if len(pending) >= PRUNE_EVERY:
            self._settle()

    def _settle(self) -> None:
        """Pack the pending spans into the store, then drop what is past the retention."""
        pending, self._pending = self._pending, []
        spans = self._spans
        excess = len(spans) + len(pending) - self.max_spans
        if excess > 0:
            self.dropped += excess
        for span in pending:
            row = span.freeze()
            try:
                spans.append(_pack(row))
            except (OverflowError, TypeError):
                spans.append(row)
        self.prune()

    def prune(self) -> None:
        """Drop spans older than the retention."""
        horizon = self._now_ns() - self.retention_ns
        spans = self._spans
        while spans and _row(spans[0])[_START_NS] < horizon:
            spans.popleft()
            self.dropped += 1

    def __iter__(self) -> Iterator[SpanRecord]:
        self._settle()
        return iter([SpanRecord.thaw(_row(packed)) for packed in self._spans])

    def __len__(self) -> int:
        self._settle()
        return len(self._spans)

    def trace(self, trace_id: str) -> list[SpanRecord]:
        """Every stored span of one trace, by start time."""
        found = [span for span in self if span.trace_id == trace_id]
        found.sort(key=lambda span: span.start_ns)
        return found

    def clear(self) -> None:
        """Forget every span."""
        self._pending.clear()
        self._spans.clear()

    def storage(self) -> dict[str, Any]:
        """The ``storage`` object of the trace functions."""
        self._settle()
        return {
            "backend": "memory",
            "span_count": len(self._spans),
            "max_spans": self.max_spans,
            "retention_seconds": self.retention_ns / 1e9,
            "dropped_spans": self.dropped,
        }


class LogStore:
    """Stored logs (StoredLog dicts), at most ``max_count`` and ``retention_s`` old."""

    def __init__(
        self, max_count: int, retention_s: float, now_ns: Callable[[], int] = time_ns
    ) -> None:
        self.max_count = max_count
        self.retention_ns = int(retention_s * 1e9)
        self._logs: deque[dict[str, Any]] = deque(maxlen=max_count)
        self._now_ns = now_ns
        self._since_prune = 0

    def add(self, record: dict[str, Any]) -> None:
        """Keep one log record (``timestamp_unix_nano`` set)."""
        self._logs.append(record)
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self.prune()

    def prune(self) -> None:
        """Drop logs older than the retention."""
        self._since_prune = 0
        horizon = self._now_ns() - self.retention_ns
        logs = self._logs
        while logs and logs[0]["timestamp_unix_nano"] < horizon:
            logs.popleft()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.prune()
        return iter(list(self._logs))

    def __len__(self) -> int:
        return len(self._logs)

    def clear(self) -> None:
        """Forget every log."""
        self._logs.clear()
