"""The memory stores are bounded in count and age; sampling limits are exact (injected clocks)."""

from __future__ import annotations

import gc
import time

from plugins.observability.config import ObservabilityConfig, RateLimit, SamplingConfig
from plugins.observability.sampling import Sampler
from plugins.observability.spans import SpanRecord, new_span_id
from plugins.observability.stats import EngineStats
from plugins.observability.store import PRUNE_EVERY, LogStore, SpanStore
from plugins.observability.tracer import Tracer

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Clock:
    def __init__(self) -> None:
        self.ns = 10**18

    def __call__(self) -> int:
        return self.ns


def _span(start_ns: int) -> SpanRecord:
    span = SpanRecord(TRACE, new_span_id(), None, "s", "server", "iii", True, None)
    span.start_ns = start_ns
    span.end_ns = start_ns + 1
    return span


def test_span_store_drops_the_oldest_beyond_its_count() -> None:
    clock = Clock()
    store = SpanStore(max_spans=3, retention_s=60, now_ns=clock)
    spans = [_span(clock.ns + i) for i in range(5)]
    for span in spans:
        store.add(span)
    assert [s.span_id for s in store] == [s.span_id for s in spans[2:]]
    assert store.storage()["dropped_spans"] == 2


def test_stored_spans_cost_the_garbage_collector_nothing() -> None:
    store = SpanStore(max_spans=10, retention_s=60)
    store.add(_span(time.time_ns()))
    with_attributes = _span(time.time_ns())
    with_attributes.attributes = {"http.route": "/x", "http.response.status_code": 200}
    store.add(with_attributes)
    assert len(store) == 2  # a read packs the pending spans
    assert all(type(row) is bytes for row in store._spans)  # one packed object per span
    assert not any(gc.is_tracked(row) for row in store._spans)


def test_a_stored_span_comes_back_as_it_went_in() -> None:
    store = SpanStore(max_spans=10, retention_s=60)
    span = _span(time.time_ns())
    span.attributes = {"http.route": "/x", "code": 200, "ratio": 0.5, "ok": True, "tags": ["a"]}
    span.end_ns = 0
    span.end("boom", "it broke")
    span.events = [{"name": "e", "time_unix_nano": 5, "attributes": [["k", "v"]]}]
    span.baggage, span.caller, span.function_id = "k=v", "w1", "f::x"
    huge = _span(time.time_ns())  # an ingested attribute past 64 bits cannot be packed
    huge.attributes = {"big": 2**70}
    store.add(span)
    store.add(huge)
    back, huge_back = list(store)
    assert back.to_dict() == span.to_dict()
    assert back.to_dict()["status_description"] == "boom: it broke"
    assert (back.baggage, back.caller, back.internal) == ("k=v", "w1", False)
    assert huge_back.attributes == {"big": 2**70}


def test_span_store_drops_spans_older_than_the_retention_without_queries() -> None:
    clock = Clock()
    store = SpanStore(max_spans=10_000, retention_s=60, now_ns=clock)
    store.add(_span(clock.ns))
    clock.ns += 61 * 10**9
    for _ in range(PRUNE_EVERY):  # additions alone prune, so an idle store stays bounded
        store.add(_span(clock.ns))
    assert len(store._spans) == PRUNE_EVERY - 1  # the first batch, less the expired span
    assert len(store) == PRUNE_EVERY
    assert store.trace(TRACE)[0].start_ns == clock.ns


def test_log_store_is_bounded_in_count_and_age() -> None:
    clock = Clock()
    store = LogStore(max_count=2, retention_s=10, now_ns=clock)
    for i in range(3):
        store.add({"timestamp_unix_nano": clock.ns, "body": i})
    assert [r["body"] for r in store] == [1, 2]
    clock.ns += 11 * 10**9
    assert list(store) == []


def test_rate_limit_caps_new_traces_per_second() -> None:
    now = [100.0]
    sampling = SamplingConfig(rate_limit=RateLimit(max_traces_per_second=2))
    sampler = Sampler(ObservabilityConfig(sampling=sampling), clock=lambda: now[0])
    assert [sampler.sample_root("call f", "f", "iii") for _ in range(3)] == [True, True, False]
    now[0] += 1
    assert sampler.sample_root("call f", "f", "iii") is True


def test_call_span_ids_are_fresh_and_well_formed_across_refills() -> None:
    tracer = Tracer(ObservabilityConfig(), None, EngineStats())
    parent = f"00-{TRACE}-00f067aa0ba902b7-01"
    spans = [
        tracer.start_call("f::x", parent if n % 3 == 0 else None, None, None) for n in range(500)
    ]
    span_ids = [span.span_id for span in spans]
    trace_ids = [span.trace_id for span in spans if span.parent_span_id is None]
    assert len(set(span_ids)) == len(span_ids)
    assert len(set(trace_ids)) == len(trace_ids) == 333
    assert all(len(s) == 16 and int(s, 16) for s in span_ids)
    assert all(len(t) == 32 and int(t, 16) for t in trace_ids)
    assert {span.trace_id for span in spans if span.parent_span_id is not None} == {TRACE}


def test_call_span_of_an_in_process_parent_uses_its_ids() -> None:
    tracer = Tracer(ObservabilityConfig(), None, EngineStats())
    parent = tracer.start_span("GET /x", kind="server")
    call = tracer.start_call("f::x", None, "k=v", None, parent)
    assert (call.trace_id, call.parent_span_id) == (parent.trace_id, parent.span_id)
    assert call.baggage == "k=v" and call.sampled
    assert call.span_id != parent.span_id
    parent.sampled = False
    assert tracer.start_call("f::x", None, None, None, parent).sampled is False


def test_span_ids_share_the_call_spans_batch_across_refills() -> None:
    tracer = Tracer(ObservabilityConfig(), None, EngineStats())
    remote = f"00-{TRACE}-00f067aa0ba902b7-01"
    spans = [
        tracer.start_span("s", traceparent=remote if n % 2 else None)
        if n % 5
        else tracer.start_call("f::x", None, None, None)
        for n in range(500)
    ]
    span_ids = [span.span_id for span in spans]
    roots = [span.trace_id for span in spans if span.parent_span_id is None]
    assert len(set(span_ids)) == len(span_ids)
    assert len(set(roots)) == len(roots)
    assert all(len(s) == 16 and int(s, 16) for s in span_ids)
    assert all(len(t) == 32 and int(t, 16) for t in roots)


def test_pending_spans_are_seen_by_every_read_and_counted_when_dropped() -> None:
    clock = Clock()
    store = SpanStore(max_spans=PRUNE_EVERY + 2, retention_s=60, now_ns=clock)
    first = [_span(clock.ns + i) for i in range(PRUNE_EVERY + 1)]  # one batch plus one
    for span in first:
        store.add(span)
    assert store.storage()["span_count"] == PRUNE_EVERY + 1
    assert [s.span_id for s in store.trace(TRACE)][-1] == first[-1].span_id
    for i in range(3):
        store.add(_span(clock.ns + 1000 + i))
    assert len(store) == PRUNE_EVERY + 2
    assert store.storage()["dropped_spans"] == 2
    store.add(_span(clock.ns))
    store.clear()
    assert len(store) == 0 and list(store) == []
