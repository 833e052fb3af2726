"""Invoking functions across SDK workers through a real engine."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_sdk import InvocationError, RegistrationRejected, Worker

Connect = Callable[..., Awaitable[Worker]]


async def barrier(worker: Worker) -> None:
    """The engine applies a connection's frames in order: after this round trip on ``worker``,
    every registration it sent before is in effect."""
    await worker.trigger("engine::functions::list", {})


async def test_async_and_sync_handlers_across_workers(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine, name="provider")
    caller = await iii_worker(iii_engine, name="caller")
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}

    async def add(payload: dict[str, Any]) -> dict[str, Any]:
        threads["async"] = threading.get_ident()
        return {"c": payload["a"] + payload["b"], "caller": payload["_caller_worker_id"]}

    def mul(payload: dict[str, Any]) -> int:
        threads["sync"] = threading.get_ident()
        return int(payload["a"] * payload["b"])

    provider.register_function("math::add", add)
    provider.register_function("math::mul", mul)
    await barrier(provider)
    assert await caller.trigger("math::add", {"a": 2, "b": 3}) == {
        "c": 5,
        "caller": caller.worker_id,
    }
    assert await caller.trigger({"function_id": "math::mul", "payload": {"a": 4, "b": 5}}) == 20
    assert threads["async"] == loop_thread
    assert threads["sync"] != loop_thread  # sync handlers never block the loop


async def test_many_concurrent_calls_resolve_to_their_own_results(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine)
    caller = await iii_worker(iii_engine)

    async def square(n: int) -> int:
        await asyncio.sleep(0)
        return n * n

    provider.register_function("math::square", square)
    await barrier(provider)
    results = await asyncio.gather(*(caller.trigger("math::square", n) for n in range(200)))
    assert results == [n * n for n in range(200)]


async def test_metadata_parameter_receives_invocation_metadata(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine)
    caller = await iii_worker(iii_engine)

    def handler(payload: Any, metadata: Any) -> Any:
        return {"payload": payload["v"], "metadata": metadata}

    provider.register_function("meta::echo", handler)
    await barrier(provider)
    result = await caller.trigger("meta::echo", {"v": 1}, metadata={"tenant": "t1"})
    assert result == {"payload": 1, "metadata": {"tenant": "t1"}}
    assert (await caller.trigger("meta::echo", {"v": 2}))["metadata"] is None


async def test_void_returns_at_once_and_the_handler_still_runs(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine)
    caller = await iii_worker(iii_engine)
    ran: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def slow(payload: Any) -> str:
        ran.set_result(payload)
        await release.wait()
        return "late"

    provider.register_function("jobs::slow", slow)
    await barrier(provider)
    request = {"function_id": "jobs::slow", "payload": {"job": 7}, "action": {"type": "void"}}
    assert await caller.trigger(request) is None
    assert await ran == {"job": 7, "_caller_worker_id": caller.worker_id}
    release.set()


async def test_enqueue_without_queue_worker_is_enqueue_error(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    caller = await iii_worker(iii_engine)
    with pytest.raises(InvocationError) as info:
        await caller.trigger("jobs::x", {}, action={"type": "enqueue", "queue": "default"})
    assert info.value.code == "enqueue_error"


async def test_unknown_function_is_function_not_found(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    caller = await iii_worker(iii_engine)
    with pytest.raises(InvocationError) as info:
        await caller.trigger("nope::missing", {"a": 1})
    assert info.value.code == "function_not_found"
    assert info.value.message == "Function nope::missing not found in namespace default."
    assert info.value.function_id == "nope::missing"


async def test_handler_exception_is_invocation_failed_with_stacktrace(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine)
    caller = await iii_worker(iii_engine)

    def explode(payload: Any) -> None:
        raise RuntimeError(f"boom {payload['n']}")

    async def refuse(payload: Any) -> None:
        raise InvocationError("NOT_ALLOWED", "no access")

    provider.register_function("bad::explode", explode)
    provider.register_function("bad::refuse", refuse)
    await barrier(provider)
    with pytest.raises(InvocationError) as info:
        await caller.trigger("bad::explode", {"n": 3})
    assert info.value.code == "invocation_failed"
    assert info.value.message == "boom 3"
    assert info.value.stacktrace is not None
    assert "Traceback" in info.value.stacktrace
    assert "in explode" in info.value.stacktrace
    with pytest.raises(InvocationError) as refused:
        await caller.trigger("bad::refuse", {})
    assert (refused.value.code, refused.value.message) == ("NOT_ALLOWED", "no access")


async def test_unencodable_result_is_invocation_failed(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine)
    caller = await iii_worker(iii_engine)
    provider.register_function("bad::result", lambda p: object())
    await barrier(provider)
    with pytest.raises(InvocationError) as info:
        await caller.trigger("bad::result", {})
    assert info.value.code == "invocation_failed"
    assert "not JSON-encodable" in info.value.message


async def test_local_timeout(iii_engine: Engine, iii_worker: Connect) -> None:
    provider = await iii_worker(iii_engine)
    caller = await iii_worker(iii_engine, invocation_timeout_ms=150)
    never = asyncio.Event()

    async def hang(payload: Any) -> None:
        await never.wait()

    provider.register_function("slow::hang", hang)
    await barrier(provider)
    with pytest.raises(InvocationError) as info:
        await caller.trigger("slow::hang", {})
    assert info.value.code == "TIMEOUT"
    with pytest.raises(InvocationError) as per_call:
        await caller.trigger("slow::hang", {}, timeout_ms=50)
    assert per_call.value.code == "TIMEOUT"


async def test_close_fails_pending_calls_with_shutdown(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine)
    caller = Worker(iii_engine.worker_url)
    await caller.connect()
    started = asyncio.Event()
    never = asyncio.Event()

    async def hang(payload: Any) -> None:
        started.set()
        await never.wait()

    provider.register_function("slow::hang", hang)
    await barrier(provider)
    call = asyncio.create_task(caller.trigger("slow::hang", {}))
    await started.wait()
    await caller.close()
    with pytest.raises(InvocationError) as info:
        await call
    assert info.value.code == "SHUTDOWN"
    with pytest.raises(InvocationError) as after:
        await caller.trigger("slow::hang", {})
    assert after.value.code == "SHUTDOWN"


async def test_unregistered_function_is_not_found(iii_engine: Engine, iii_worker: Connect) -> None:
    provider = await iii_worker(iii_engine)
    caller = await iii_worker(iii_engine)
    handle = provider.register_function("tmp::fn", lambda p: "here")
    await barrier(provider)
    assert await caller.trigger("tmp::fn", {}) == "here"
    handle.unregister()
    await barrier(provider)
    with pytest.raises(InvocationError) as info:
        await caller.trigger("tmp::fn", {})
    assert info.value.code == "function_not_found"


async def test_function_id_conflict_is_recorded_on_the_handle(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    first = await iii_worker(iii_engine)
    second = await iii_worker(iii_engine)
    first.register_function("own::fn", lambda p: "first")
    await barrier(first)
    handle = second.register_function("own::fn", lambda p: "second")
    await barrier(second)
    assert handle.error is not None
    assert handle.error.code == "FUNCTION_NAMESPACE_CONFLICT"
    assert handle.error.owner_worker_id == first.worker_id
    assert await second.trigger("own::fn", {}) == "first"


async def test_worker_metadata_reaches_the_engine(iii_engine: Engine, iii_worker: Connect) -> None:
    worker = await iii_worker(iii_engine, name="meta-worker", description="does things")
    await barrier(worker)
    info = await worker.trigger("engine::workers::info", {"name": "meta-worker"})
    row = info["worker"]
    assert row["runtime"] == "python"
    assert row["description"] == "does things"
    assert row["id"] == worker.worker_id


async def test_duplicate_worker_name_is_fatal_for_the_newcomer(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    await iii_worker(iii_engine, name="unique")
    newcomer = Worker(iii_engine.worker_url, name="unique")
    states: asyncio.Queue[str] = asyncio.Queue()
    newcomer.add_connection_listener(states.put_nowait)
    await newcomer.connect()
    try:
        assert await asyncio.wait_for(states.get(), 5) == "connected"
        # the engine rejects the name after workerregistered and closes the socket
        assert await asyncio.wait_for(states.get(), 5) == "disconnected"
        with pytest.raises(InvocationError) as info:
            await newcomer.trigger("engine::functions::list", {})
        assert info.value.code == "WORKER_NAMESPACE_CONFLICT"
    finally:
        await newcomer.close()


async def test_serve_forever_returns_on_close_and_raises_on_rejection(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    worker = Worker(iii_engine.worker_url, name="server")
    serving = asyncio.create_task(worker.serve_forever())
    states: asyncio.Queue[str] = asyncio.Queue()
    worker.add_connection_listener(states.put_nowait)
    assert await asyncio.wait_for(states.get(), 5) == "connected"
    await worker.close()
    await asyncio.wait_for(serving, 5)  # returns (no error) once closed
    assert serving.done()

    taken = Worker(iii_engine.worker_url, name="server-2")
    await iii_worker(iii_engine, name="server-2")
    with pytest.raises(RegistrationRejected) as info:
        await asyncio.wait_for(taken.serve_forever(), 5)
    assert info.value.code == "WORKER_NAMESPACE_CONFLICT"
    await taken.close()
