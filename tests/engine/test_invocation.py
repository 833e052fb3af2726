"""Invocation routing between raw workers: sync, void, fire-and-forget, enqueue, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iii_engine.engine import Engine
from tests.raw_client import RawWorker, disconnect, is_uuid4, open_raw, raw_worker


async def serve_once(executor: RawWorker, function_id: str, result: Any = None) -> dict[str, Any]:
    """Receive one invocation of ``function_id``, answer it, return it."""
    invocation = await executor.invocation(function_id)
    await executor.reply(invocation, result)
    return invocation


async def test_sync_call_across_two_workers(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("math::add", description="adds")
        invocation_id = await caller.invoke(
            "math::add",
            {"a": 2, "b": 3},
            traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            baggage="k=v",
            metadata={"team": "ops"},
        )
        invocation = await executor.invocation("math::add")
        # The executor frame: caller's id reused, no action/namespace, sidecars forwarded; the
        # trace continues under the engine's own span (same trace id, new parent span id).
        traceparent = invocation.pop("traceparent")
        assert traceparent.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        assert not traceparent.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7")
        assert invocation == {
            "type": "invokefunction",
            "invocation_id": invocation_id,
            "function_id": "math::add",
            "data": {"a": 2, "b": 3, "_caller_worker_id": caller.worker_id},
            "baggage": "k=v",
            "metadata": {"team": "ops"},
        }
        await executor.send(
            {
                "type": "invocationresult",
                "invocation_id": invocation_id,
                "function_id": "math::add",
                "result": {"c": 5},
                "traceparent": "00-t-s-02",
            }
        )
        assert await caller.result(invocation_id) == {
            "type": "invocationresult",
            "invocation_id": invocation_id,
            "function_id": "math::add",
            "result": {"c": 5},
            "traceparent": "00-t-s-02",
        }


@pytest.mark.parametrize("payload", [[1, 2], "text", 42, 1.5, True, None])
async def test_caller_id_not_injected_into_non_object_payloads(
    iii_engine: Engine, payload: Any
) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("echo::it")
        invocation_id = await caller.invoke("echo::it", payload)
        invocation = await serve_once(executor, "echo::it", payload)
        assert invocation["data"] == payload
        assert (await caller.result(invocation_id))["result"] == payload


async def test_caller_id_injected_into_empty_object(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("echo::it")
        await caller.invoke("echo::it", {})
        invocation = await serve_once(executor, "echo::it")
        assert invocation["data"] == {"_caller_worker_id": caller.worker_id}


async def test_missing_data_reaches_executor_as_null(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("echo::it")
        await caller.send(
            {"type": "invokefunction", "invocation_id": _uuid(), "function_id": "echo::it"}
        )
        invocation = await executor.invocation("echo::it")
        assert invocation.get("data") is None
        assert "data" in invocation  # engine->executor frames always carry data


async def test_caller_supplied_caller_worker_id_is_overridden(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("who::am_i")
        await caller.invoke("who::am_i", {"_caller_worker_id": "spoofed", "x": 1})
        invocation = await serve_once(executor, "who::am_i")
        assert invocation["data"] == {"x": 1, "_caller_worker_id": caller.worker_id}


async def test_overridden_caller_worker_id_appears_once(iii_engine: Engine) -> None:
    # Upstream inserts into the JSON map, so the executor sees a single key (strict parsers
    # such as serde structs reject duplicate fields).
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("who::am_i")
        await caller.invoke("who::am_i", {"_caller_worker_id": "spoofed"})
        msg = await executor.ws.receive(timeout=5)
        pairs: list[tuple[str, Any]] = []

        def keep_pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            pairs.extend(items)
            return dict(items)

        json.loads(msg.data, object_pairs_hook=keep_pairs)
        assert [v for k, v in pairs if k == "_caller_worker_id"] == [caller.worker_id]


async def test_void_call_gets_no_reply_but_executor_gets_an_id(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("log::it")
        caller_id = _uuid()
        await caller.send(
            {
                "type": "invokefunction",
                "invocation_id": caller_id,
                "function_id": "log::it",
                "data": {"m": 1},
                "action": {"type": "void"},
            }
        )
        invocation = await executor.invocation("log::it")
        assert is_uuid4(invocation["invocation_id"])
        assert invocation["invocation_id"] != caller_id
        assert "action" not in invocation
        assert invocation["data"] == {"m": 1, "_caller_worker_id": caller.worker_id}
        await executor.reply(invocation, {"absorbed": True})
        await executor.barrier()  # the engine has routed (absorbed) the result
        await caller.barrier()
        assert caller.take("invocationresult") == []


async def test_void_call_of_unknown_function_gets_no_reply(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        await caller.send(
            {
                "type": "invokefunction",
                "invocation_id": _uuid(),
                "function_id": "no::such",
                "data": None,
                "action": {"type": "void"},
            }
        )
        await caller.barrier()
        assert caller.inbox == []


async def test_invoke_without_invocation_id_runs_without_reply(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("fire::forget")
        await caller.send({"type": "invokefunction", "function_id": "fire::forget", "data": 7})
        invocation = await executor.invocation("fire::forget")
        assert is_uuid4(invocation["invocation_id"])
        await executor.reply(invocation, "done")
        await executor.barrier()
        await caller.send({"type": "invokefunction", "function_id": "no::such", "data": 1})
        await caller.barrier()
        assert caller.inbox == []


async def test_unknown_function_not_found_message(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        frame = await caller.call("math::add", {"a": 1})
        assert frame["error"] == {
            "code": "function_not_found",
            "message": "Function math::add not found in namespace default.",
        }
        assert frame["function_id"] == "math::add"
        assert "result" not in frame
        other = await caller.call("math::add", {"a": 1}, namespace="other")
        assert other["error"]["message"] == "Function math::add not found in namespace other."


@pytest.mark.parametrize("namespace", ["", "   ", "\t"])
async def test_blank_namespace_is_invalid(iii_engine: Engine, namespace: str) -> None:
    async with raw_worker(iii_engine) as caller:
        frame = await caller.call("engine::functions::list", {}, namespace=namespace)
        assert frame["error"]["code"] == "INVALID_NAMESPACE"


async def test_null_namespace_means_default(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        result = await caller.call_ok("engine::functions::list", {}, namespace=None)
        assert result == {"functions": []}


async def test_enqueue_without_provider_is_enqueue_error(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        frame = await caller.call("jobs::run", {"n": 1}, action={"type": "enqueue", "queue": "q"})
        assert frame["error"]["code"] == "enqueue_error"
        assert "iii worker add queue" in frame["error"]["message"]
        assert frame["function_id"] == "jobs::run"


async def test_enqueue_goes_through_the_queue_function(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as queue, raw_worker(iii_engine) as caller:
        await queue.register_function("engine::queue::enqueue")
        invocation_id = await caller.invoke(
            "jobs::run",
            {"n": 1},
            action={"type": "enqueue", "queue": "emails"},
            traceparent="tp",
            metadata={"dropped": True},
        )
        request = await queue.invocation("engine::queue::enqueue")
        data = request["data"]
        assert set(data) == {
            "queue",
            "function_id",
            "data",
            "messageReceiptId",
            "traceparent",
            "baggage",
        }
        assert (data["queue"], data["function_id"], data["data"]) == (
            "emails",
            "jobs::run",
            {"n": 1},
        )
        assert data["traceparent"] == "tp"
        assert is_uuid4(data["messageReceiptId"])
        assert "metadata" not in request  # metadata is not forwarded on enqueue
        await queue.reply(request, {"ok": True})
        reply = await caller.result(invocation_id)
        assert reply["result"] == {"messageReceiptId": data["messageReceiptId"]}


async def test_executor_error_forwarded_verbatim(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("bad::fn")
        invocation_id = await caller.invoke("bad::fn", {})
        invocation = await executor.invocation("bad::fn")
        error = {"code": "invocation_failed", "message": "boom", "stacktrace": "Traceback..."}
        await executor.send(
            {
                "type": "invocationresult",
                "invocation_id": invocation["invocation_id"],
                "function_id": "bad::fn",
                "result": "ignored",
                "error": error,
            }
        )
        reply = await caller.result(invocation_id)
        assert reply["error"] == error


async def test_result_without_result_field_has_none(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("nothing::back")
        invocation_id = await caller.invoke("nothing::back", {})
        invocation = await executor.invocation("nothing::back")
        await executor.send(
            {
                "type": "invocationresult",
                "invocation_id": invocation["invocation_id"],
                "function_id": "nothing::back",
            }
        )
        reply = await caller.result(invocation_id)
        assert "error" not in reply
        assert reply.get("result") is None


async def test_results_routed_by_id_out_of_order(iii_engine: Engine) -> None:
    count = 40
    async with (
        raw_worker(iii_engine) as executor,
        raw_worker(iii_engine) as caller_a,
        raw_worker(iii_engine) as caller_b,
    ):
        await executor.register_function("slow::double")
        sent: dict[str, tuple[RawWorker, int]] = {}
        for n in range(count):
            caller = caller_a if n % 2 else caller_b
            sent[await caller.invoke("slow::double", {"n": n})] = (caller, n)
        invocations = [await executor.invocation("slow::double") for _ in range(count)]
        for invocation in reversed(invocations):
            await executor.reply(invocation, invocation["data"]["n"] * 2)
        for invocation_id, (caller, n) in sent.items():
            assert (await caller.result(invocation_id))["result"] == n * 2
        await caller_a.barrier()
        await caller_b.barrier()
        assert caller_a.inbox == caller_b.inbox == []


async def test_executor_disconnect_mid_call_stops_invocation(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        async with raw_worker(iii_engine) as executor:
            await executor.register_function("hang::forever")
            invocation_id = await caller.invoke("hang::forever", {})
            await executor.invocation("hang::forever")
        reply = await caller.result(invocation_id)
        assert reply["error"] == {"code": "invocation_stopped", "message": "Invocation stopped"}
        assert reply["function_id"] == "hang::forever"
        # The function went with its owner.
        gone = await caller.call("hang::forever", {})
        assert gone["error"]["code"] == "function_not_found"


async def test_caller_disconnect_discards_late_result(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor:
        await executor.register_function("slow::fn")
        caller = await open_raw(iii_engine.worker_url)
        await caller.invoke("slow::fn", {})
        invocation = await executor.invocation("slow::fn")
        await disconnect(iii_engine, caller)
        await executor.reply(invocation, "late")
        await executor.barrier()
        assert not iii_engine.router.pending
        async with raw_worker(iii_engine) as other:
            assert (await other.call_ok("engine::functions::list", {}))["functions"]


async def test_concurrent_in_process_calls(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        ids = [await caller.invoke("engine::functions::list", {}) for _ in range(20)]
        for invocation_id in reversed(ids):
            assert (await caller.result(invocation_id))["result"] == {"functions": []}


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())
