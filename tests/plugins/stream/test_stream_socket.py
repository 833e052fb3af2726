"""The subscription WebSocket over real sockets: protocol, order, limits, slow readers, auth."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.plugins.stream.stream_helpers import WAIT, Subscriber, call, item, stream_port

Subscribe = Callable[..., Awaitable[Subscriber]]


async def test_join_sync_then_events_in_order(client: Worker, subscribe: Subscribe) -> None:
    await call(client, "stream::set", {**item("m0"), "data": {"n": 0}})
    sub = await subscribe()
    sync = await sub.join("s1")
    assert sync["type"] == "stream" and sync["id"] is None
    assert (sync["streamName"], sync["groupId"]) == ("chat", "room-1")
    assert sync["event"] == {"type": "sync", "data": [{"n": 0}]}
    for i in range(1, 51):
        await call(client, "stream::set", {**item("m0"), "data": {"n": i}})
    await call(client, "stream::set", {**item("m1", group="room-2"), "data": "elsewhere"})
    await call(client, "stream::delete", item("m0"))
    frames = [await sub.next() for _ in range(51)]
    assert [f["event"]["data"]["n"] for f in frames[:50]] == list(range(1, 51))
    assert {f["event"]["type"] for f in frames[:50]} == {"update"}
    assert frames[50]["event"] == {"type": "delete", "data": {"n": 50}}


async def test_item_subscription_sees_only_its_item(client: Worker, subscribe: Subscribe) -> None:
    sub = await subscribe()
    sync = await sub.join("s-item", item_id="b")
    assert sync["event"] == {"type": "sync", "data": None} and sync["id"] == "b"
    group = {"stream_name": "chat", "group_id": "room-1"}
    await call(client, "stream::set", {**item("a"), "data": 1})
    await call(client, "stream::send", {**group, "type": "typing", "data": "group-wide"})
    await call(client, "stream::send", {**group, "type": "typing", "id": "b", "data": "for b"})
    await call(client, "stream::set", {**item("b"), "data": 2})
    first = await sub.next()
    assert first["event"] == {"type": "event", "event": {"type": "typing", "data": "for b"}}
    assert (await sub.next())["event"] == {"type": "create", "data": 2}


async def test_two_subscriptions_on_one_socket_get_two_frames_and_leave_stops(
    client: Worker, subscribe: Subscribe
) -> None:
    sub = await subscribe()
    await sub.join("a")
    await sub.join("b")
    await call(client, "stream::set", {**item("x"), "data": 1})
    assert [(await sub.next())["event"]["data"] for _ in range(2)] == [1, 1]
    await sub.leave("a")
    await sub.leave("never-joined")
    await sub.join("c", group="marker")  # its sync proves the leaves were processed
    await call(client, "stream::set", {**item("x"), "data": 2})
    await call(client, "stream::set", {**item("x", group="marker"), "data": "end"})
    assert (await sub.next())["event"]["data"] == 2
    assert (await sub.next())["event"]["data"] == "end"


async def test_malformed_frames_are_ignored_and_the_socket_stays(
    client: Worker, subscribe: Subscribe, caplog: Any
) -> None:
    sub = await subscribe()
    for bad in ("", "   ", "not json", "[1,2]", '{"type":"join"}', '{"type":"join","data":{}}'):
        await sub.send(bad)
    await sub.send({"type": "dance", "data": {}})
    await sub.send({"type": "join", "data": {"subscriptionId": 5, "streamName": "chat"}})
    await sub.ws.send_bytes(
        b'{"type":"join","data":{"subscriptionId":"bin","streamName":"chat","groupId":"room-1"}}'
    )
    sync = await sub.next()
    assert sync["event"]["type"] == "sync"
    assert "malformed subscription frame" in caplog.text
    assert "unknown type 'dance'" in caplog.text


async def test_unknown_stream_syncs_empty(subscribe: Subscribe) -> None:
    sub = await subscribe()
    assert (await sub.join("s", stream="never-written"))["event"] == {"type": "sync", "data": []}


async def test_other_paths_are_not_found(stream_engine: Engine) -> None:
    port = stream_port(stream_engine)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"ws://127.0.0.1:{port}/elsewhere".replace("ws", "http", 1)) as resp,
    ):
        assert resp.status == 404


async def test_huge_client_frame_closes_with_1009(subscribe: Subscribe) -> None:
    sub = await subscribe()
    await sub.send({"type": "join", "data": {"pad": "x" * 100_000}})
    assert await sub.closed() == 1009


async def test_subscription_flood_is_bounded(iii_worker: Any) -> None:
    entry = {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "memory"}}}
    entry["config"]["max_subscriptions_per_socket"] = 5  # type: ignore[index]
    async with start_engine(workers=[entry]) as engine, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"ws://127.0.0.1:{stream_port(engine)}/")
        sub = Subscriber(ws)
        for i in range(5):
            await sub.join(f"s{i}")
        await sub.join("s0")  # re-joining an id replaces it: still 5
        await sub.send(
            {"type": "join", "data": {"subscriptionId": "s5", "streamName": "c", "groupId": "g"}}
        )
        assert await sub.closed() == 1008
        assert engine.builtin("iii-stream").hub.count == 0  # type: ignore[attr-defined]


def _raw_ws(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert b" 101 " in response
    return sock


def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes((0x81, 0x80 | len(payload))) + mask + body


async def test_a_subscriber_that_never_reads_is_dropped_and_slows_nobody(
    iii_worker: Any, subscribe: Subscribe
) -> None:
    entry = {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "memory"}}}
    entry["config"]["send_buffer_bytes"] = 64 * 1024  # type: ignore[index]
    async with start_engine(workers=[entry]) as engine, aiohttp.ClientSession() as session:
        worker = engine.builtin("iii-stream")
        client = await iii_worker(engine)
        stuck = await asyncio.to_thread(_raw_ws, stream_port(engine))
        join = b'{"type":"join","data":{"subscriptionId":"s","streamName":"c","groupId":"g"}}'
        stuck.sendall(_masked(join))
        reader = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{stream_port(engine)}/"))
        await reader.join("r", stream="c", group="g")
        while worker.hub.count < 2:  # type: ignore[attr-defined]
            await call(client, "stream::list_all", {})  # the stuck socket's join is in flight
        big = "z" * 50_000
        sent = 0
        while worker.hub.count == 2:  # type: ignore[attr-defined]
            await call(client, "stream::set", {**item(f"i{sent}", "g", "c"), "data": big})
            sent += 1
            assert sent < 2000, "the stuck subscriber was never dropped"
        for i in range(sent):
            frame = await reader.next()
            assert frame["id"] == f"i{i}"
        stuck.close()


async def test_join_and_leave_triggers_with_filters_and_refusal(
    client: Worker, subscribe: Subscribe
) -> None:
    joins: asyncio.Queue[Any] = asyncio.Queue()
    leaves: asyncio.Queue[Any] = asyncio.Queue()

    async def on_join(payload: dict[str, Any]) -> Any:
        await joins.put(payload)
        return {"unauthorized": payload["group_id"] == "secret"}

    client.register_function("t::join", on_join)
    client.register_function("t::leave", leaves.put)
    client.register_function("t::other", lambda p: {"unauthorized": True})
    client.register_trigger("stream:join", "t::join", {"stream_name": "chat"})
    client.register_trigger("stream:join", "t::other", {"stream_name": "other"})
    client.register_trigger("stream:leave", "t::leave", {})
    await call(client, "stream::list_all", {})

    sub = await subscribe()
    refused = await sub.join("s1", group="secret")
    assert refused["event"] == {"type": "unauthorized"}
    assert (refused["streamName"], refused["groupId"]) == ("chat", "secret")
    assert (await sub.join("s2", item_id="i"))["event"]["type"] == "sync"
    assert await joins.get() == {
        "subscription_id": "s1",
        "stream_name": "chat",
        "group_id": "secret",
        "id": None,
        "context": None,
    }
    assert (await joins.get())["subscription_id"] == "s2"
    await call(client, "stream::set", {**item("i", group="secret"), "data": 1})
    await call(client, "stream::set", {**item("i"), "data": 2})
    assert (await sub.next())["event"]["data"] == 2
    await sub.ws.close()
    left = await asyncio.wait_for(leaves.get(), WAIT)
    assert (left["subscription_id"], left["id"]) == ("s2", "i")
    assert leaves.empty()


async def test_auth_function_context_and_failure(iii_worker: Any) -> None:
    entry = {
        "name": "iii-stream",
        "config": {"port": 0, "adapter": {"name": "memory"}, "auth_function": "t::auth"},
    }
    async with start_engine(workers=[entry]) as engine, aiohttp.ClientSession() as session:
        client = await iii_worker(engine)
        seen: list[Any] = []

        def auth(request: dict[str, Any]) -> Any:
            seen.append(request)
            token = request["query_params"].get("token", [""])[0]
            if token == "boom":
                raise RuntimeError("auth backend down")
            return {"context": {"user": token}} if token else {"nope": 1}

        joined: asyncio.Queue[Any] = asyncio.Queue()
        client.register_function("t::auth", auth)
        client.register_function("t::join", joined.put)
        client.register_trigger("stream:join", "t::join", {})
        await call(client, "stream::list_all", {})
        port = stream_port(engine)

        ok = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{port}/?token=ada&x=1&x=2"))
        assert (await ok.join("s"))["event"]["type"] == "sync"
        assert (await joined.get())["context"] == {"user": "ada"}
        request = seen[0]
        assert request["path"] == "/"
        assert request["query_params"] == {"token": ["ada"], "x": ["1", "2"]}
        assert request["headers"]["upgrade"].lower() == "websocket"
        assert request["addr"].startswith("127.0.0.1:")
        for query in ("", "?token=boom"):
            bad = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{port}/{query}"))
            assert await bad.closed() == 4001
        await ok.ws.close()


async def test_events_during_the_sync_read_follow_the_sync(
    stream_engine: Engine, client: Worker, subscribe: Subscribe
) -> None:
    listing, release = asyncio.Event(), asyncio.Event()

    async def slow_list(payload: dict[str, Any]) -> list[Any]:
        listing.set()
        await release.wait()
        return ["as listed"]

    client.register_function("stream::list(slow)", slow_list)
    client.register_function(
        "stream::set(slow)", lambda p: {"old_value": None, "new_value": p["data"]}
    )
    await call(client, "stream::list_all", {})
    sub = await subscribe()
    await sub.send(
        {"type": "join", "data": {"subscriptionId": "s", "streamName": "slow", "groupId": "g"}}
    )
    await asyncio.wait_for(listing.wait(), WAIT)
    where = {"stream_name": "slow", "group_id": "g", "item_id": "i"}
    await call(client, "stream::set", {**where, "data": "during the sync"})
    release.set()
    assert (await sub.next())["event"] == {"type": "sync", "data": ["as listed"]}
    assert (await sub.next())["event"] == {"type": "create", "data": "during the sync"}


async def test_join_condition_false_skips_the_handler(client: Worker, subscribe: Subscribe) -> None:
    client.register_function("t::deny", lambda p: {"unauthorized": True})
    client.register_function("t::never", lambda p: False)
    client.register_trigger("stream:join", "t::deny", {"condition_function_id": "t::never"})
    await call(client, "stream::list_all", {})
    sub = await subscribe()
    assert (await sub.join("s"))["event"]["type"] == "sync"


async def test_engine_stop_closes_subscribers_with_1001(iii_worker: Any) -> None:
    entry = {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "memory"}}}
    async with aiohttp.ClientSession() as session:
        async with start_engine(workers=[entry]) as engine:
            sub = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{stream_port(engine)}/"))
            await sub.join("s")
            closed = asyncio.create_task(sub.closed())
        assert await closed == 1001
