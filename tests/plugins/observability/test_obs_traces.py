"""Engine spans: one per routed invocation, HTTP request and trigger firing, over real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.raw_client import raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _attr(span: dict[str, Any], key: str) -> Any:
    return dict((k, v) for k, v in span["attributes"]).get(key)


async def test_routed_call_continues_the_callers_trace(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("math::add")
        invocation_id = await caller.invoke(
            "math::add", {"a": 1}, traceparent=f"00-{TRACE}-{PARENT}-01", baggage="user=7"
        )
        invocation = await executor.invocation("math::add")
        _, trace_id, span_id, flags = invocation["traceparent"].split("-")
        assert (trace_id, flags) == (TRACE, "01")
        assert invocation["baggage"] == "user=7"
        await executor.reply(invocation, {"c": 1})
        await caller.result(invocation_id)

        tree = await caller.call_ok("engine::traces::tree", {"trace_id": TRACE})
        [root] = tree["roots"]  # the caller's span is not stored: the engine span is the root
        assert root["span_id"] == span_id
        assert root["parent_span_id"] == PARENT
        assert root["name"] == "call math::add"
        assert root["status"] == "ok"
        assert root["end_time_unix_nano"] >= root["start_time_unix_nano"] > 0
        assert _attr(root, "iii.function.id") == "math::add"
        assert _attr(root, "iii.caller.worker_id") == caller.worker_id
        assert root["children"] == []


async def test_a_call_without_traceparent_starts_a_trace(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("svc::fail")
        invocation_id = await caller.invoke("svc::fail", None)
        invocation = await executor.invocation("svc::fail")
        _, trace_id, span_id, _ = invocation["traceparent"].split("-")
        await executor.reply(invocation, error={"code": "boom", "message": "it broke"})
        await caller.result(invocation_id)
        listing = await caller.call_ok("engine::traces::list", {"trace_id": trace_id})
        [span] = listing["spans"]
        assert span["span_id"] == span_id
        assert span["parent_span_id"] is None
        assert span["status"] == "error"
        assert span["status_description"] == "boom: it broke"


async def test_nested_calls_through_the_sdk_form_one_tree(
    iii_engine: Engine, iii_worker: Any
) -> None:
    """A -> engine -> B, and B calls C through the engine while handling: one trace."""
    b: Worker = await iii_worker(iii_engine, name="b")
    c: Worker = await iii_worker(iii_engine, name="c")
    c.register_function("c::leaf", lambda payload: {"leaf": True})

    async def middle(payload: Any) -> Any:
        return await b.trigger("c::leaf", {})

    b.register_function("b::middle", middle)
    async with raw_worker(iii_engine) as a:
        for fn in ("b::middle", "c::leaf"):
            await _until_listed(a, fn)
        frame = await a.call("b::middle", {}, traceparent=f"00-{TRACE}-{PARENT}-01")
        assert frame["result"] == {"leaf": True}
        tree = await a.call_ok("engine::traces::tree", {"trace_id": TRACE})
    [root] = tree["roots"]
    assert root["name"] == "call b::middle"
    # Our SDK passes the trace context it received on to the calls its handler makes (it
    # needs no opentelemetry for that), so the leaf call is the middle call's child.
    [child] = root["children"]
    assert child["name"] == "call c::leaf"
    assert child["parent_span_id"] == root["span_id"]


async def _until_listed(w: Any, function_id: str) -> None:
    async with asyncio.timeout(5):
        while True:
            rows = (await w.call_ok("engine::functions::list", {}))["functions"]
            if any(r["function_id"] == function_id for r in rows):
                return
            await asyncio.sleep(0.01)  # polling the engine's own listing: the readiness signal


async def test_http_request_span_parents_the_handler_call() -> None:
    http = {"name": "iii-http", "config": {"port": 0, "host": "127.0.0.1"}}
    async with start_engine(workers=[http]) as engine, raw_worker(engine) as w:
        await w.register_function("web::hello")
        await w.send(
            {
                "type": "registertrigger",
                "id": "t1",
                "trigger_type": "http",
                "function_id": "web::hello",
                "config": {"api_path": "/hello", "http_method": "GET"},
            }
        )
        await w.barrier()
        port = engine.builtin("iii-http").port  # type: ignore[attr-defined]
        async with aiohttp.ClientSession() as session:
            request = asyncio.ensure_future(
                session.get(
                    f"http://127.0.0.1:{port}/hello",
                    headers={"traceparent": f"00-{TRACE}-{PARENT}-01"},
                )
            )
            invocation = await w.invocation("web::hello")
            await w.reply(invocation, {"status_code": 201, "body": {"ok": True}})
            response = await request
            assert response.status == 201
            response.release()
        tree = await w.call_ok("engine::traces::tree", {"trace_id": TRACE})
    [root] = tree["roots"]
    assert root["name"] == "GET /hello"
    assert root["parent_span_id"] == PARENT
    assert _attr(root, "http.response.status_code") == 201
    [call] = root["children"]
    assert call["name"] == "call web::hello"
    assert invocation["traceparent"].split("-")[2] == call["span_id"]


async def test_state_trigger_firing_is_traced_under_the_write() -> None:
    state = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}
    async with start_engine(workers=[state]) as engine, raw_worker(engine) as w:
        await w.register_function("on::change")
        await w.send(
            {
                "type": "registertrigger",
                "id": "s1",
                "trigger_type": "state",
                "function_id": "on::change",
                "config": {"scope": "s"},
            }
        )
        await w.barrier()
        await w.call_ok(
            "state::set",
            {"scope": "s", "key": "k", "value": 1},
            traceparent=f"00-{TRACE}-{PARENT}-01",
        )
        fired = await w.invocation("on::change")
        await w.reply(fired, None)
        assert fired["traceparent"].split("-")[1] == TRACE
        async with asyncio.timeout(5):
            while True:  # the firing span ends once the handler's result is back
                tree = await w.call_ok("engine::traces::tree", {"trace_id": TRACE})
                if tree["roots"][0]["children"] and tree["roots"][0]["children"][0]["children"]:
                    break
                await asyncio.sleep(0.01)
    [write] = tree["roots"]
    assert write["name"] == "call state::set"
    [firing] = write["children"]
    assert firing["name"] == "trigger on::change"
    assert _attr(firing, "iii.trigger.type") == "state"
    [handler] = firing["children"]
    assert handler["name"] == "call on::change"


async def test_disabled_observability_makes_no_spans() -> None:
    config = {"name": "iii-observability", "config": {"enabled": False}}
    async with start_engine(workers=[config]) as engine:
        assert engine.router.observer is None
        async with raw_worker(engine) as executor, raw_worker(engine) as caller:
            await executor.register_function("x::y")
            invocation_id = await caller.invoke("x::y", 1)
            invocation = await executor.invocation("x::y")
            assert "traceparent" not in invocation
            await executor.reply(invocation, 2)
            await caller.result(invocation_id)
            listing = await caller.call_ok("engine::traces::list", {"search_all_spans": True})
            assert listing["spans"] == []
            # engine::log::* stays callable (restricted workers rely on it).
            assert await caller.call_ok("engine::log::info", {"message": "hi"}) is None


async def test_hot_reload_swaps_the_observer(tmp_path: Any) -> None:
    from iii_engine.config.schema import parse_config

    def config(enabled: bool) -> Any:
        text = (
            "workers:\n  - name: iii-worker-manager\n    config: {host: 127.0.0.1, port: 0}\n"
            f"  - name: iii-observability\n    config: {{enabled: {str(enabled).lower()}}}\n"
        )
        return parse_config(text, base_dir=tmp_path)

    async with Engine(config(True)) as engine:
        first = engine.router.observer
        assert first is not None
        await engine.apply_reload(config(False))
        assert engine.router.observer is None
        async with raw_worker(engine) as w:  # engine::log::* stays served across the reload
            assert await w.call_ok("engine::log::info", {"message": "still here"}) is None
        await engine.apply_reload(config(True))
        assert engine.router.observer is not None and engine.router.observer is not first
