"""The bounded in-memory stores: spans and logs, each capped in count and in age.

Spans are kept as tuples (:meth:`SpanRecord.freeze`), which the garbage collector does not
track, and rebuilt for queries.

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

from plugins.observability.spans import Row, SpanRecord

if TYPE_CHECKING:
    from plugins.observability.calls import CallSpan

__all__ = ["PRUNE_EVERY", "LogStore", "SpanStore"]

PRUNE_EVERY = 256
"""Additions between two age prunes."""


class SpanStore:
    """Finished spans, oldest first, at most ``max_spans`` and at most ``retention_s`` old."""

    def __init__(
        self, max_spans: int, retention_s: float, now_ns: Callable[[], int] = time_ns
    ) -> None:
        self.max_spans = max_spans
        self.retention_ns = int(retention_s * 1e9)
        self._spans: deque[Row] = deque(maxlen=max_spans)
        self._now_ns = now_ns
        self._since_prune = 0
        self.dropped = 0
        """Spans evicted for count or age since the start."""

    def add(self, span: SpanRecord | CallSpan) -> None:
        """Keep one finished span."""
        spans = self._spans
        if len(spans) == self.max_spans:
            self.dropped += 1
        spans.append(span.freeze())
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self.prune()

    def prune(self) -> None:
        """Drop spans older than the retention."""
        self._since_prune = 0
        horizon = self._now_ns() - self.retention_ns
        spans = self._spans
        while spans and spans[0][7] < horizon:  # start_ns
            spans.popleft()
            self.dropped += 1

    def __iter__(self) -> Iterator[SpanRecord]:
        self.prune()
        return iter([SpanRecord.thaw(row) for row in self._spans])

    def __len__(self) -> int:
        return len(self._spans)

    def trace(self, trace_id: str) -> list[SpanRecord]:
        """Every stored span of one trace, by start time."""
        found = [span for span in self if span.trace_id == trace_id]
        found.sort(key=lambda span: span.start_ns)
        return found

    def clear(self) -> None:
        """Forget every span."""
        self._spans.clear()

    def storage(self) -> dict[str, Any]:
        """The ``storage`` object of the trace functions."""
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
