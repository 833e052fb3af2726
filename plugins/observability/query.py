"""``engine::traces::list/tree/clear/group_by`` over the span store (workers.md §8.2).

Times in queries are unix milliseconds. Bad queries are answered with ``INVALID_ARGUMENTS``
(a malformed trace id, ``start_time`` after ``end_time``, negative paging, an unknown sort
key) and an unknown trace with ``NOT_FOUND``; the message says what was wrong.
"""

from __future__ import annotations

import re
from time import time_ns
from typing import Any, Literal

import msgspec

from iii_sdk.errors import InvocationError
from iii_sdk.plugin import WorkerContext, decode_input
from plugins.observability.spans import SpanRecord
from plugins.observability.store import SpanStore

__all__ = ["INVALID_ARGUMENTS", "NOT_FOUND", "TraceQueries", "bounds_ns", "page"]

INVALID_ARGUMENTS = "INVALID_ARGUMENTS"
NOT_FOUND = "NOT_FOUND"
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def bounds_ns(start_ms: int | None, end_ms: int | None) -> tuple[int | None, int | None]:
    """A query's time range in nanoseconds; an inverted or negative range is rejected."""
    for name, value in (("start_time", start_ms), ("end_time", end_ms)):
        if value is not None and value < 0:
            raise InvocationError(INVALID_ARGUMENTS, f"{name} must be unix milliseconds >= 0")
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise InvocationError(
            INVALID_ARGUMENTS, f"start_time ({start_ms}) is after end_time ({end_ms})"
        )
    low = None if start_ms is None else start_ms * 1_000_000
    high = None if end_ms is None else end_ms * 1_000_000
    return low, high


def page(items: list[Any], offset: int, limit: int) -> list[Any]:
    """``items[offset:offset + limit]``; negative values are rejected."""
    if offset < 0 or limit < 0:
        raise InvocationError(INVALID_ARGUMENTS, "offset and limit must not be negative")
    return items[offset : offset + limit]


def check_trace_id(trace_id: str) -> str:
    """A trace id as stored (32 lowercase hex digits), or ``INVALID_ARGUMENTS``."""
    normalized = trace_id.strip().lower()
    if not _TRACE_ID.match(normalized):
        raise InvocationError(
            INVALID_ARGUMENTS, f"invalid trace_id {trace_id!r}: expected 32 hexadecimal digits"
        )
    return normalized


class TraceQuery(msgspec.Struct, kw_only=True):
    """Input of ``engine::traces::list``."""

    trace_id: str | None = None
    trace_ids: list[str] | None = None
    offset: int = 0
    limit: int = 100
    service_name: str | None = None
    name: str | None = None
    status: str | None = None
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    start_time: int | None = None
    end_time: int | None = None
    sort_by: Literal["start_time", "end_time", "duration", "name"] = "start_time"
    sort_order: Literal["asc", "desc"] = "desc"
    attributes: list[tuple[str, Any]] | None = None
    exclude_attributes: list[tuple[str, Any]] | None = None
    include_internal: bool = False
    search_all_spans: bool = False


class TreeQuery(msgspec.Struct, kw_only=True):
    """Input of ``engine::traces::tree``."""

    trace_id: str


class GroupQuery(msgspec.Struct, kw_only=True):
    """Input of ``engine::traces::group_by``."""

    attribute: str
    since_ms: int | None = None
    limit: int = 50
    include_internal: bool = False
    label_attribute: str | None = None


_SORT_KEYS = {
    "start_time": lambda s: s.start_ns,
    "end_time": lambda s: s.end_ns,
    "duration": lambda s: s.end_ns - s.start_ns,
    "name": lambda s: s.name,
}


def _matches(span: SpanRecord, pairs: list[tuple[str, Any]]) -> bool:
    return all(str(span.attribute(key)) == str(value) for key, value in pairs)


class TraceQueries:
    """The trace functions over one :class:`SpanStore`."""

    def __init__(self, store: SpanStore) -> None:
        self.store = store

    def register(self, ctx: WorkerContext) -> None:
        """Register ``engine::traces::*``."""
        ctx.register_function("engine::traces::list", self.list, description="Query stored spans")
        ctx.register_function(
            "engine::traces::tree", self.tree, description="One trace as a tree of spans"
        )
        ctx.register_function(
            "engine::traces::clear", self.clear, description="Delete every stored span"
        )
        ctx.register_function(
            "engine::traces::group_by",
            self.group_by,
            description="Group traces by an attribute value",
        )

    def list(self, payload: Any) -> dict[str, Any]:
        """``engine::traces::list``: root spans (one per trace) unless asked otherwise."""
        query = decode_input(payload or {}, TraceQuery, "engine::traces::list")
        low, high = bounds_ns(query.start_time, query.end_time)
        wanted = {check_trace_id(t) for t in (query.trace_ids or [])}
        if query.trace_id is not None:
            wanted.add(check_trace_id(query.trace_id))
        spans = list(self.store)
        if not wanted and not query.search_all_spans:
            ids = {span.span_id for span in spans}
            spans = [s for s in spans if s.parent_span_id is None or s.parent_span_id not in ids]
        status = None if query.status is None else query.status.lower()
        found = []
        for span in spans:
            if wanted and span.trace_id not in wanted:
                continue
            if span.internal and not query.include_internal:
                continue
            if query.service_name is not None and span.service_name != query.service_name:
                continue
            if query.name is not None and query.name.lower() not in span.name.lower():
                continue
            if status is not None and span.status != status:
                continue
            duration = (span.end_ns - span.start_ns) / 1e6
            if query.min_duration_ms is not None and duration < query.min_duration_ms:
                continue
            if query.max_duration_ms is not None and duration > query.max_duration_ms:
                continue
            if (low is not None and span.start_ns < low) or (
                high is not None and span.start_ns > high
            ):
                continue
            if query.attributes and not _matches(span, query.attributes):
                continue
            if query.exclude_attributes and any(
                _matches(span, [pair]) for pair in query.exclude_attributes
            ):
                continue
            found.append(span)
        found.sort(key=_SORT_KEYS[query.sort_by], reverse=query.sort_order == "desc")
        return {
            "spans": [span.to_dict() for span in page(found, query.offset, query.limit)],
            "total": len(found),
            "offset": query.offset,
            "limit": query.limit,
            "storage": self.store.storage(),
        }

    def tree(self, payload: Any) -> dict[str, Any]:
        """``engine::traces::tree``: the spans of one trace nested under their parents."""
        query = decode_input(payload, TreeQuery, "engine::traces::tree")
        trace_id = check_trace_id(query.trace_id)
        spans = self.store.trace(trace_id)
        if not spans:
            raise InvocationError(
                NOT_FOUND,
                f"trace {trace_id} not found (never recorded, not sampled, or evicted: the "
                f"store keeps {self.store.max_spans} spans)",
            )
        nodes = {span.span_id: {**span.to_dict(), "children": []} for span in spans}
        roots: list[dict[str, Any]] = []
        for span in spans:
            node = nodes[span.span_id]
            parent = nodes.get(span.parent_span_id or "")
            (roots if parent is None else parent["children"]).append(node)
        return {"roots": roots, "storage": self.store.storage()}

    def clear(self, payload: Any) -> dict[str, Any]:
        """``engine::traces::clear``."""
        self.store.clear()
        return {"success": True}

    def group_by(self, payload: Any) -> dict[str, Any]:
        """``engine::traces::group_by``: traces grouped by one attribute's value."""
        query = decode_input(payload, GroupQuery, "engine::traces::group_by")
        if query.limit < 0:
            raise InvocationError(INVALID_ARGUMENTS, "limit must not be negative")
        low, _ = bounds_ns(query.since_ms, None)
        groups: dict[str, dict[str, Any]] = {}
        for span in self.store:
            if span.internal and not query.include_internal:
                continue
            if low is not None and span.start_ns < low:
                continue
            value = span.attribute(query.attribute)
            if value is None:
                continue
            key = str(value)
            group = groups.get(key)
            if group is None:
                label = span.attribute(query.label_attribute) if query.label_attribute else None
                group = groups[key] = {
                    "value": value,
                    "label": str(label) if label is not None else key,
                    "trace_ids": [],
                    "span_count": 0,
                    "first_seen_ms": span.start_ns // 1_000_000,
                    "last_seen_ms": span.end_ns // 1_000_000,
                    "duration_ms": 0.0,
                    "error_count": 0,
                }
            if span.trace_id not in group["trace_ids"]:
                group["trace_ids"].append(span.trace_id)
            group["span_count"] += 1
            group["first_seen_ms"] = min(group["first_seen_ms"], span.start_ns // 1_000_000)
            group["last_seen_ms"] = max(group["last_seen_ms"], span.end_ns // 1_000_000)
            group["duration_ms"] += (span.end_ns - span.start_ns) / 1e6
            if span.status == "error":
                group["error_count"] += 1
        ordered = sorted(groups.values(), key=lambda g: g["last_seen_ms"], reverse=True)
        return {"groups": ordered[: query.limit], "storage": self.store.storage()}


def now_ms() -> int:
    """The current unix time in milliseconds."""
    return time_ns() // 1_000_000
