"""The ``log`` and ``trace`` trigger types (workers.md §8.3) over real sockets."""

from __future__ import annotations

from typing import Any

from iii_engine.testing import start_engine
from tests.raw_client import RawWorker, raw_worker


async def _bind(w: RawWorker, trigger_id: str, trigger_type: str, fn: str, config: Any) -> None:
    await w.register_function(fn)
    await w.send(
        {
            "type": "registertrigger",
            "id": trigger_id,
            "trigger_type": trigger_type,
            "function_id": fn,
            "config": config,
        }
    )
    await w.barrier()


async def test_log_trigger_fires_with_stored_logs_of_its_level() -> None:
    async with start_engine() as engine, raw_worker(engine) as w:
        await _bind(w, "l1", "log", "on::error", {"level": "error"})
        await _bind(w, "l2", "log", "on::any", {})
        await w.call_ok("engine::log::info", {"message": "fine"})
        await w.call_ok("engine::log::error", {"message": "broken"})
        first_any = await w.invocation("on::any")
        second_any = await w.invocation("on::any")
        error = await w.invocation("on::error")
        assert [first_any["data"]["body"], second_any["data"]["body"]] == ["fine", "broken"]
        assert error["data"]["body"] == "broken"
        assert error["data"]["severity_text"] == "ERROR"
        assert w.take("invokefunction") == []  # on::error never saw the info record


async def test_log_trigger_rejects_an_unknown_level() -> None:
    async with start_engine() as engine, raw_worker(engine) as w:
        await w.register_function("on::log")
        await w.send(
            {
                "type": "registertrigger",
                "id": "bad",
                "trigger_type": "log",
                "function_id": "on::log",
                "config": {"level": "loud"},
            }
        )
        result = await w.recv("triggerregistrationresult")
        assert "unknown log level 'loud'" in result["error"]["message"]


async def test_trace_trigger_delivers_coalesced_trace_ids_once() -> None:
    async with start_engine() as engine, raw_worker(engine) as w, raw_worker(engine) as ex:
        await _bind(w, "t1", "trace", "on::traces", {"status": "ERROR"})
        await ex.register_function("svc::fail")
        trace_ids = []
        for _ in range(2):
            invocation_id = await w.invoke("svc::fail", None)
            invocation = await ex.invocation("svc::fail")
            trace_ids.append(invocation["traceparent"].split("-")[1])
            await ex.reply(invocation, error={"code": "x", "message": "y"})
            await w.result(invocation_id)
        tick = await w.invocation("on::traces")
        assert sorted(tick["data"]["trace_ids"]) == sorted(trace_ids)
        await w.reply(tick, None)
        # The delivery's own call is unsampled: it never makes another tick by itself.
        listing = await w.call_ok("engine::traces::list", {"name": "on::traces"})
        assert listing["total"] == 0
