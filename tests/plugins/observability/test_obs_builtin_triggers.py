"""iii-queue job runs, iii-cron firings and iii-stream triggers are traced like state/pubsub
firings (a ``trigger <function_id>`` span parenting the handler's ``call`` span), and the
Prometheus endpoint reports queue depth."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from iii_engine.testing import start_engine
from tests.raw_client import RawWorker, raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
QUEUE = {
    "name": "iii-queue",
    "config": {"adapter": {"name": "memory"}, "queue_configs": {"q": {}}},
}
STREAM = {
    "name": "iii-stream",
    "config": {"host": "127.0.0.1", "port": 0, "adapter": {"name": "memory"}},
}


def _attr(span: dict[str, Any], key: str) -> Any:
    return dict((k, v) for k, v in span["attributes"]).get(key)


async def _firing(w: RawWorker, function_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``trigger`` span of ``function_id`` and the ``call`` span under it, once ended."""
    async with asyncio.timeout(5):
        while True:
            found = await w.call_ok(
                "engine::traces::list",
                {"name": f"trigger {function_id}", "search_all_spans": True},
            )
            if found["spans"]:
                firing = found["spans"][0]
                tree = await w.call_ok("engine::traces::tree", {"trace_id": firing["trace_id"]})
                nodes = list(tree["roots"])
                while nodes:
                    node = nodes.pop()
                    if node["span_id"] == firing["span_id"] and node["children"]:
                        return firing, node["children"][0]
                    nodes.extend(node["children"])
            await asyncio.sleep(0.02)


async def test_queue_job_run_is_traced() -> None:
    async with start_engine(workers=[QUEUE]) as engine, raw_worker(engine) as w:
        await w.register_function("job::run")
        await w.barrier()
        receipt = await w.call_ok("job::run", {"n": 1}, action={"type": "enqueue", "queue": "q"})
        assert receipt["messageReceiptId"]
        await w.reply(await w.invocation("job::run"), None)
        firing, call = await _firing(w, "job::run")
    assert _attr(firing, "iii.trigger.type") == "queue"
    assert call["name"] == "call job::run"


async def test_cron_firing_is_traced() -> None:
    async with start_engine(workers=[{"name": "iii-cron"}]) as engine, raw_worker(engine) as w:
        await w.register_function("tick::run")
        await w.send(
            {
                "type": "registertrigger",
                "id": "c1",
                "trigger_type": "cron",
                "function_id": "tick::run",
                "config": {"expression": "* * * * * *"},
            }
        )
        await w.reply(await w.invocation("tick::run", within=5), None)
        firing, call = await _firing(w, "tick::run")
        await w.send({"type": "unregistertrigger", "id": "c1", "trigger_type": "cron"})
    assert _attr(firing, "iii.trigger.type") == "cron"
    assert call["name"] == "call tick::run"


async def test_stream_trigger_is_traced_under_the_write() -> None:
    async with start_engine(workers=[STREAM]) as engine, raw_worker(engine) as w:
        await w.register_function("on::todo")
        await w.send(
            {
                "type": "registertrigger",
                "id": "s1",
                "trigger_type": "stream",
                "function_id": "on::todo",
                "config": {"stream_name": "todo"},
            }
        )
        await w.barrier()
        where = {"stream_name": "todo", "group_id": "g", "item_id": "a"}
        await w.call_ok("stream::set", {**where, "data": 1}, traceparent=f"00-{TRACE}-{PARENT}-01")
        await w.reply(await w.invocation("on::todo"), None)
        firing, call = await _firing(w, "on::todo")
    assert firing["trace_id"] == TRACE
    assert _attr(firing, "iii.trigger.type") == "stream"
    assert call["name"] == "call on::todo"


async def test_prometheus_reports_queue_depth() -> None:
    config = {"prometheus": {"enabled": True, "host": "127.0.0.1", "port": 0}}
    entry = {"name": "iii-observability", "config": config}
    async with start_engine(workers=[entry, QUEUE]) as engine, raw_worker(engine) as w:
        await w.register_function("job::slow")
        await w.barrier()
        for n in range(3):
            await w.call_ok("job::slow", {"n": n}, action={"type": "enqueue", "queue": "q"})
        await w.invocation("job::slow")  # one running, left unanswered
        port = engine.builtin("iii-observability").port  # type: ignore[attr-defined]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            text = await response.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("iii_queue_depth", (("kind", "queue"), ("queue", "q")))] == 3
    assert samples[("iii_queue_dead_lettered", (("kind", "queue"), ("queue", "q")))] == 0
