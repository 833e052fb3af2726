"""Official Python SDK <-> our engine <-> our SDK: function calls in both directions."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from iii import InvocationError as OfficialInvocationError
from iii import TriggerAction

from iii_engine.engine import Engine
from iii_sdk.errors import InvocationError
from tests.compat.support import (
    WAIT,
    Inbox,
    OfficialFactory,
    official_call,
    wait_for_functions,
    wait_for_functions_gone,
)

pytestmark = pytest.mark.compat


async def test_our_sdk_calls_an_official_function(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(iii_engine, "official-math")
    client.register_function("offpy::add", lambda data: {"c": data["a"] + data["b"]})
    await wait_for_functions(iii_engine, "offpy::add")

    ours = await iii_worker(iii_engine, name="ours")
    assert await ours.trigger("offpy::add", {"a": 2, "b": 3}) == {"c": 5}


async def test_official_async_handler_receives_payload_and_caller_id(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(iii_engine, "official-echo")

    async def echo(data: Any) -> Any:
        return {"got": data}

    client.register_function("offpy::echo", echo)
    await wait_for_functions(iii_engine, "offpy::echo")
    ours = await iii_worker(iii_engine, name="ours")

    result = await ours.trigger("offpy::echo", {"x": [1, "two", None]})
    assert result["got"]["x"] == [1, "two", None]
    assert result["got"]["_caller_worker_id"] == ours.worker_id
    # Non-object payloads reach the handler unchanged (no caller id injected).
    assert await ours.trigger("offpy::echo", [1, 2]) == {"got": [1, 2]}
    assert await ours.trigger("offpy::echo", "text") == {"got": "text"}


async def test_official_sdk_calls_a_function_of_ours(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::mul", lambda p: {"product": p["a"] * p["b"]})
    await wait_for_functions(iii_engine, "ours::mul")

    client = await official(iii_engine, "official-caller")
    assert await official_call(client, "ours::mul", {"a": 6, "b": 7}) == {"product": 42}


async def test_official_handler_calls_back_into_our_function(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::square", lambda p: p["n"] * p["n"])
    client = await official(iii_engine, "official-chain")

    async def sum_of_squares(data: Any) -> Any:
        total = 0
        for n in data["numbers"]:
            request = {"function_id": "ours::square", "payload": {"n": n}}
            total += await client.trigger_async(request)
        return {"total": total}

    client.register_function("offpy::sum_of_squares", sum_of_squares)
    await wait_for_functions(iii_engine, "ours::square", "offpy::sum_of_squares")

    result = await ours.trigger("offpy::sum_of_squares", {"numbers": [1, 2, 3]})
    assert result == {"total": 14}


async def test_void_calls_in_both_directions(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    inbox = Inbox()
    client = await official(iii_engine, "official-void")
    client.register_function("offpy::note", lambda data: inbox.put(("official", data)))
    ours = await iii_worker(iii_engine, name="ours")
    received: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    ours.register_function("ours::note", received.set_result)
    await wait_for_functions(iii_engine, "offpy::note", "ours::note")

    assert await ours.trigger("offpy::note", {"n": 1}, action={"type": "void"}) is None
    side, data = await inbox.get()
    assert side == "official"
    assert data["n"] == 1

    result = await official_call(client, "ours::note", {"n": 2}, action=TriggerAction.Void())
    assert result is None
    payload = await asyncio.wait_for(received, WAIT)
    assert payload["n"] == 2


async def test_void_call_of_an_unknown_function_returns_nothing(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(iii_engine, "official-void-unknown")
    result = await official_call(client, "nobody::here", {}, action=TriggerAction.Void())
    assert result is None
    # The connection is still usable afterwards (no error frame, no close).
    listing = await official_call(client, "engine::functions::list", {})
    assert "functions" in listing


async def test_unknown_function_gives_function_not_found_to_the_official_sdk(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(iii_engine, "official-unknown")
    with pytest.raises(OfficialInvocationError) as caught:
        await official_call(client, "nobody::here", {"a": 1})
    assert caught.value.code == "function_not_found"
    assert "nobody::here" in caught.value.message


async def test_official_handler_exception_reaches_our_caller(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(iii_engine, "official-raises")

    def boom(data: Any) -> Any:
        raise ValueError("bad input: " + str(data["n"]))

    client.register_function("offpy::boom", boom)
    await wait_for_functions(iii_engine, "offpy::boom")
    ours = await iii_worker(iii_engine, name="ours")

    with pytest.raises(InvocationError) as caught:
        await ours.trigger("offpy::boom", {"n": 7})
    assert caught.value.code == "invocation_failed"
    assert "bad input: 7" in caught.value.message


async def test_our_error_code_reaches_the_official_sdk(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")

    def refuse(payload: Any) -> Any:
        raise InvocationError("NOT_ALLOWED", "no thanks")

    ours.register_function("ours::refuse", refuse)
    await wait_for_functions(iii_engine, "ours::refuse")
    client = await official(iii_engine, "official-sees-error")

    with pytest.raises(OfficialInvocationError) as caught:
        await official_call(client, "ours::refuse", {})
    assert (caught.value.code, caught.value.message) == ("NOT_ALLOWED", "no thanks")


async def test_binding_metadata_and_invocation_metadata_reach_official_handler(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    inbox = Inbox()
    client = await official(iii_engine, "official-metadata")

    def handler(data: Any, metadata: Any = None) -> Any:
        inbox.put(metadata)
        return {"ok": True}

    client.register_function("offpy::meta", handler)
    await wait_for_functions(iii_engine, "offpy::meta")
    ours = await iii_worker(iii_engine, name="ours")

    assert await ours.trigger("offpy::meta", {}, metadata={"tenant": "acme"}) == {"ok": True}
    assert await inbox.get() == {"tenant": "acme"}


async def test_official_worker_killed_mid_call_stops_our_invocation(
    iii_engine: Engine, py_worker: Any, iii_worker: Any
) -> None:
    worker = await py_worker(iii_engine, "hang")
    ours = await iii_worker(iii_engine, name="ours")

    call = asyncio.create_task(ours.trigger("offpy::hang", {"job": 1}, timeout_ms=20000))
    invoked = await worker.expect("INVOKED")
    assert '"job": 1' in invoked
    await worker.kill()

    with pytest.raises(InvocationError) as caught:
        await asyncio.wait_for(call, WAIT)
    assert caught.value.code == "invocation_stopped"
    await wait_for_functions_gone(iii_engine, "offpy::hang")


async def test_official_worker_shutdown_mid_call_stops_our_invocation(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any, thread_event: threading.Event
) -> None:
    inbox = Inbox()
    client = await official(iii_engine, "official-shutdown")

    def slow(data: Any) -> Any:
        inbox.put("started")
        thread_event.wait(WAIT)
        return {"late": True}

    client.register_function("offpy::slow", slow)
    await wait_for_functions(iii_engine, "offpy::slow")
    ours = await iii_worker(iii_engine, name="ours")

    call = asyncio.create_task(ours.trigger("offpy::slow", {}, timeout_ms=20000))
    assert await inbox.get() == "started"
    await asyncio.to_thread(client.shutdown)

    with pytest.raises(InvocationError) as caught:
        await asyncio.wait_for(call, WAIT)
    assert caught.value.code == "invocation_stopped"


async def test_our_worker_closed_mid_call_stops_the_official_callers_invocation(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def wait_forever(payload: Any) -> Any:
        started.set_result(None)
        await release.wait()
        return None

    ours.register_function("ours::forever", wait_forever)
    await wait_for_functions(iii_engine, "ours::forever")
    client = await official(iii_engine, "official-waits")

    call = asyncio.create_task(official_call(client, "ours::forever", {}))
    await asyncio.wait_for(started, WAIT)
    await ours.close()

    with pytest.raises(OfficialInvocationError) as caught:
        await asyncio.wait_for(call, WAIT)
    assert caught.value.code == "invocation_stopped"
    release.set()


async def test_official_client_timeout_is_local(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")
    release = asyncio.Event()

    async def slow(payload: Any) -> Any:
        await release.wait()
        return "late"

    ours.register_function("ours::slow", slow)
    await wait_for_functions(iii_engine, "ours::slow")
    client = await official(iii_engine, "official-timeout")

    with pytest.raises(OfficialInvocationError) as caught:
        await official_call(client, "ours::slow", {}, timeout_ms=200)
    assert caught.value.code == "TIMEOUT"
    release.set()
    # The late result is dropped by the SDK; the connection keeps working.
    ours.register_function("ours::fast", lambda p: "fast")
    await wait_for_functions(iii_engine, "ours::fast")
    assert await official_call(client, "ours::fast", {}) == "fast"


async def test_official_function_unregister_removes_it(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(iii_engine, "official-unregister")
    ref = client.register_function("offpy::temp", lambda data: "here")
    await wait_for_functions(iii_engine, "offpy::temp")
    ref.unregister()
    await wait_for_functions_gone(iii_engine, "offpy::temp")

    ours = await iii_worker(iii_engine, name="ours")
    with pytest.raises(InvocationError) as caught:
        await ours.trigger("offpy::temp", {})
    assert caught.value.code == "function_not_found"


async def test_large_payload_from_the_official_sdk(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    """Upstream accepts frames up to 64 MiB; the official SDK sends any size in one frame."""
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function(
        "ours::measure", lambda p: {"len": len(p["blob"]), "tail": p["blob"][-3:]}
    )
    await wait_for_functions(iii_engine, "ours::measure")
    client = await official(iii_engine, "official-big")

    blob = "ab" * 3_000_000 + "end"
    result = await official_call(client, "ours::measure", {"blob": blob})
    assert result == {"len": len(blob), "tail": "end"}


async def test_concurrent_calls_from_the_official_sdk_get_their_own_results(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")

    async def slow_square(payload: Any) -> Any:
        # Finish in reverse order of arrival so results cross on the wire.
        await asyncio.sleep((50 - payload["n"]) / 1000)
        return payload["n"] ** 2

    ours.register_function("ours::slow_square", slow_square)
    await wait_for_functions(iii_engine, "ours::slow_square")
    client = await official(iii_engine, "official-concurrent")

    async def fan_out() -> list[Any]:
        calls = [
            client.trigger_async({"function_id": "ours::slow_square", "payload": {"n": n}})
            for n in range(50)
        ]
        return list(await asyncio.gather(*calls))

    done = asyncio.run_coroutine_threadsafe(fan_out(), client._loop)
    assert await asyncio.wait_for(asyncio.wrap_future(done), WAIT) == [n * n for n in range(50)]


async def test_official_call_without_payload_omits_data_and_still_runs(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    """The official SDK drops ``data`` when the payload is None (decisions 2.1: read as null)."""
    ours = await iii_worker(iii_engine, name="ours")
    seen = Inbox()

    def record(payload: Any) -> Any:
        seen.put(payload)
        return "ran"

    ours.register_function("ours::no_payload", record)
    await wait_for_functions(iii_engine, "ours::no_payload")
    client = await official(iii_engine, "official-no-payload")

    assert await official_call(client, "ours::no_payload", None) == "ran"
    assert await seen.get() is None
    await official_call(client, "ours::no_payload", None, action=TriggerAction.Void())
    assert await seen.get() is None
