"""Discovery, identity and conflicts, driven by the official Python SDK."""

from __future__ import annotations

import json
import os
from typing import Any

import aiohttp
import pytest
from iii import RegistrationRejectedError

from iii_engine.builtins import introspection
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.compat.support import (
    WAIT,
    Inbox,
    OfficialFactory,
    close_official,
    eventually,
    official_call,
    wait_for_functions,
)

pytestmark = pytest.mark.compat


async def test_official_sdk_lists_functions_of_both_sdks(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours-listed")
    ours.register_function("ours::listed", lambda p: None, description="ours, listed")
    client = await official(iii_engine, "official-lister")
    client.register_function("offpy::listed", lambda d: None, description="official, listed")
    await wait_for_functions(iii_engine, "ours::listed", "offpy::listed")

    listing = await official_call(client, "engine::functions::list", {})
    rows = {row["function_id"]: row for row in listing["functions"]}
    assert rows["ours::listed"]["worker_name"] == "ours-listed"
    assert rows["ours::listed"]["description"] == "ours, listed"
    assert rows["offpy::listed"]["worker_name"] == "official-lister"
    assert rows["offpy::listed"]["namespace"] == "default"
    assert not any(fid.startswith("engine::") for fid in rows)

    info = await official_call(client, "engine::functions::info", {"function_id": "offpy::listed"})
    assert info["function_id"] == "offpy::listed"
    assert info["description"] == "official, listed"


async def test_workers_list_shows_the_official_worker(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(iii_engine, "official-visible", worker_description="shows up")
    client.register_function("offpy::one", lambda d: None)
    await wait_for_functions(iii_engine, "offpy::one")

    async def row() -> dict[str, Any] | None:
        workers = await official_call(client, "engine::workers::list", {})
        return next((w for w in workers["workers"] if w["name"] == "official-visible"), None)

    worker = await eventually(row, "the official worker to be listed")
    assert worker["runtime"] == "python"
    assert worker["version"] == "0.23.0"
    assert worker["status"] == "connected"
    assert worker["id"] == client.worker_id
    assert worker["description"] == "shows up"
    assert worker["function_count"] == 1
    assert worker["ip_address"] == "127.0.0.1"

    by_runtime = await official_call(client, "engine::workers::list", {"runtime": "python"})
    assert {w["runtime"] for w in by_runtime["workers"]} == {"python"}

    info = await official_call(client, "engine::workers::info", {"name": "official-visible"})
    assert info["worker"]["pid"] == os.getpid()
    assert [f["function_id"] for f in info["functions"]] == ["offpy::one"]


async def test_workers_available_events_reach_an_official_handler(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    inbox = Inbox()
    client = await official(iii_engine, "official-watcher")
    client.register_function("offpy::on_worker", inbox.put)
    client.register_trigger(
        {"type": "engine::workers-available", "function_id": "offpy::on_worker", "config": {}}
    )
    await wait_for_functions(iii_engine, "offpy::on_worker")

    async def bound() -> bool:
        rows = await iii_engine.invoke("engine::registered-triggers::list", {})
        return any(r["function_id"] == "offpy::on_worker" for r in rows["registered_triggers"])

    await eventually(bound, "the workers-available binding")
    ours = await iii_worker(iii_engine, name="ours-comes-and-goes")
    worker_id = ours.worker_id

    # Sync official handlers run on a thread each: events may be put out of order.
    seen: set[str] = set()

    async def saw(*events: str) -> None:
        while not set(events) <= seen:
            item = await inbox.get()
            if item.get("worker_id") == worker_id:
                seen.add(item["event"])

    await saw("worker_connected", "worker_metadata_updated")
    await ours.close()
    await saw("worker_disconnected")


async def test_functions_available_event_reaches_an_official_handler(
    official: OfficialFactory, iii_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(introspection, "FUNCTIONS_POLL_S", 0.05)
    async with start_engine() as engine:
        inbox = Inbox()
        client = await official(engine, "official-fn-watcher")
        client.register_function("offpy::on_functions", inbox.put)
        client.register_trigger(
            {"type": "engine::functions-available", "function_id": "offpy::on_functions"}
        )
        await wait_for_functions(engine, "offpy::on_functions")
        ours = await iii_worker(engine, name="ours-new-fn")
        ours.register_function("ours::brand_new", lambda p: None)

        def lists_new(item: Any) -> bool:
            ids = {row["function_id"] for row in item.get("functions", [])}
            return item.get("event") == "functions_changed" and "ours::brand_new" in ids

        event = await inbox.get_until(lists_new)
        row = next(r for r in event["functions"] if r["function_id"] == "ours::brand_new")
        assert row["worker_name"] == "ours-new-fn"
        await ours.close()
        await close_official(client)


async def test_duplicate_worker_name_is_rejected_for_the_official_sdk(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    first = await official(iii_engine, "official-unique")

    async def first_holds_the_name() -> bool:
        rows = await iii_engine.invoke("engine::workers::list", {"search": "official-unique"})
        return [r["id"] for r in rows["workers"]] == [first.worker_id]

    # The SDK sends engine::workers::register in the background: let the first one land.
    await eventually(first_holds_the_name, "the first worker to hold the name")
    second = await official(iii_engine, "official-unique", expect_connected=False)

    # Polled: a state listener attached now could miss a transition racing its first call.
    async def failed() -> bool:
        return bool(second.get_connection_state() == "failed")

    await eventually(failed, "the second worker to be rejected")

    with pytest.raises(RegistrationRejectedError) as caught:
        await official_call(second, "engine::functions::list", {})
    assert caught.value.code == "WORKER_NAMESPACE_CONFLICT"
    assert caught.value.worker_name == "official-unique"


async def test_function_owned_by_our_worker_is_not_taken_by_the_official_sdk(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours-owner")
    ours.register_function("shared::fn", lambda p: "ours")
    await wait_for_functions(iii_engine, "shared::fn")

    client = await official(iii_engine, "official-latecomer")
    client.register_function("shared::fn", lambda d: "official")
    client.register_function("offpy::after", lambda d: "after")
    # Frames of one connection apply in order: once the later one is listed, the conflict ran.
    await wait_for_functions(iii_engine, "offpy::after")

    assert await ours.trigger("shared::fn", {}) == "ours"
    assert await official_call(client, "shared::fn", {}) == "ours"
    assert await official_call(client, "offpy::after", {}) == "after"


async def test_official_subprocess_worker_telemetry_socket_is_accepted(
    iii_engine: Engine, py_worker: Any, iii_worker: Any
) -> None:
    """The official SDK opens ``<url>/otel`` and streams OTLP frames; the engine takes them."""
    await py_worker(iii_engine, "echo")
    ours = await iii_worker(iii_engine, name="ours")
    assert await ours.trigger("offpy::echo", {"n": 1}) == {
        "echo": {"n": 1, "_caller_worker_id": ours.worker_id}
    }

    async def frames() -> bool:
        return iii_engine.telemetry_frames > 0

    await eventually(frames, "OTLP frames from the official SDK's /otel socket")
    # The telemetry socket is not a worker.
    workers = await iii_engine.invoke("engine::workers::list", {"runtime": "python"})
    assert sorted(w["name"] for w in workers["workers"]) == ["official-py-echo", "ours"]
    # The worker connection itself is unaffected.
    assert (await ours.trigger("offpy::echo", "again"))["echo"] == "again"


async def test_official_worker_reconnects_after_a_dropped_socket(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(iii_engine, "official-reconnects")
    client.register_function("offpy::survivor", lambda d: "still here")
    await wait_for_functions(iii_engine, "offpy::survivor")
    first_id = client.worker_id

    # Cut the TCP connection under the SDK, as a network failure would (a clean close would
    # make the SDK stop instead of reconnecting).
    ws = client._ws
    assert ws is not None
    client._loop.call_soon_threadsafe(ws.transport.abort)

    async def new_identity() -> bool:
        return client.worker_id not in (None, first_id)

    await eventually(new_identity, "the official worker to reconnect")

    ours = await iii_worker(iii_engine, name="ours")

    async def answers() -> Any:
        try:
            return await ours.trigger("offpy::survivor", {}, timeout_ms=1000)
        except Exception:
            return None

    assert await eventually(answers, "the re-registered function to answer") == "still here"
    workers = await iii_engine.invoke("engine::workers::list", {"search": "official-reconnects"})
    assert [w["id"] for w in workers["workers"]] == [client.worker_id]


async def test_engine_answers_websocket_and_json_pings(iii_engine: Engine) -> None:
    """The Node SDK pings every 20 s and drops a link silent for 60 s; Python's websockets
    closes one whose ping is not answered in 20 s. The engine must answer both kinds of ping."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(iii_engine.worker_url, autoping=False) as ws,
    ):
        first = json.loads(await ws.receive_str(timeout=WAIT))
        assert first["type"] == "workerregistered"
        await ws.ping(b"compat")
        pong = await ws.receive(timeout=WAIT)
        assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"compat")
        await ws.send_str('{"type":"ping"}')
        assert json.loads(await ws.receive_str(timeout=WAIT)) == {"type": "pong"}


async def test_worker_name_and_description_are_sanitised(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    """docs/protocol.md 1.7: control and bidi characters stripped, 280 characters, trimmed."""
    client = await official(
        iii_engine,
        " tidy\x07-na\u202eme\u2028 ",
        worker_description="d" * 300,
    )
    client.register_function("offpy::tidy", lambda data: None)
    await wait_for_functions(iii_engine, "offpy::tidy")

    async def row() -> dict[str, Any] | None:
        workers = await iii_engine.invoke("engine::workers::list", {"search": "tidy"})
        return workers["workers"][0] if workers["workers"] else None

    worker = await eventually(row, "the worker to be listed")
    assert worker["name"] == "tidy-name"
    assert worker["description"] == "d" * 280
