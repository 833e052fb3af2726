"""End to end: bodies through channels: uploads, forms, streamed downloads, SSE (mode B)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

Serve = Callable[..., AbstractAsyncContextManager[Any]]

PDF = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF"


async def test_streamed_download_is_byte_identical(serve: Serve) -> None:
    async def download(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.send_message({"type": "set_status", "status_code": 200})
        await out.send_message(
            {"type": "set_headers", "headers": {"content-type": "application/pdf"}}
        )
        for start in range(0, len(PDF), 50_000):
            await out.write(PDF[start : start + 50_000])
        await out.close()

    async with serve() as env:
        await env.route("/files/report.pdf", download)
        async with env.session.get(env.url("/files/report.pdf")) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/pdf"
            assert await resp.read() == PDF


async def test_streamed_status_without_data_and_value_wins_before_data(serve: Serve) -> None:
    async def created(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.send_message({"type": "set_status", "status_code": 202})
        await out.send_message({"type": "set_headers", "headers": {"x-job": "42"}})
        await out.close()

    async def returns(req: dict[str, Any]) -> dict[str, Any]:
        out = req["response"]
        await out.send_message({"type": "set_status", "status_code": 299})
        await out.close()
        return {"status_code": 201, "body": {"mode": "A"}}

    async with serve() as env:
        await env.route("/jobs", created, method="POST")
        await env.route("/mixed", returns)
        async with env.session.post(env.url("/jobs")) as resp:
            assert resp.status == 202
            assert resp.headers["x-job"] == "42"
            assert await resp.read() == b""
        async with env.session.get(env.url("/mixed")) as resp:
            assert resp.status == 201
            assert await resp.json() == {"mode": "A"}


async def test_streamed_upload_reads_every_byte_from_the_channel(serve: Serve) -> None:
    async def upload(req: dict[str, Any]) -> dict[str, Any]:
        data = await req["request_body"].read_all()
        return {
            "status_code": 201,
            "body": {
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "parsed": req["body"],
                "type": req["headers"]["content-type"],
            },
        }

    blob = os.urandom(1_000_000)

    async def chunks() -> Any:
        for start in range(0, len(blob), 100_000):
            yield blob[start : start + 100_000]

    async with serve() as env:
        await env.route("/upload", upload, method="POST")
        headers = {"Content-Type": "application/octet-stream"}
        async with env.session.post(env.url("/upload"), data=blob, headers=headers) as resp:
            assert resp.status == 201
            sized = await resp.json()
        async with env.session.post(env.url("/upload"), data=chunks(), headers=headers) as resp:
            chunked = await resp.json()
    expected = {
        "size": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "parsed": None,
        "type": "application/octet-stream",
    }
    assert sized == expected
    assert chunked == expected


async def test_forms_are_read_raw_with_the_boundary_intact(serve: Serve) -> None:
    async def form(req: dict[str, Any]) -> dict[str, Any]:
        raw = await req["request_body"].read_all()
        return {"body": {"type": req["headers"]["content-type"], "raw": raw.decode()}}

    async with serve() as env:
        await env.route("/form", form, method="POST")
        async with env.session.post(env.url("/form"), data={"a": "1", "b": "x y"}) as resp:
            urlencoded = await resp.json()
        multipart = aiohttp.FormData()
        multipart.add_field("name", "iii")
        multipart.add_field("file", b"file-bytes", filename="f.txt", content_type="text/plain")
        async with env.session.post(env.url("/form"), data=multipart) as resp:
            parts = await resp.json()
    assert urlencoded == {"type": "application/x-www-form-urlencoded", "raw": "a=1&b=x+y"}
    assert parts["type"].startswith("multipart/form-data; boundary=")
    boundary = parts["type"].split("boundary=", 1)[1]
    assert parts["raw"].startswith(f"--{boundary}")
    assert 'name="name"' in parts["raw"] and "file-bytes" in parts["raw"]


async def test_server_sent_events_arrive_as_they_are_written(serve: Serve) -> None:
    next_event = asyncio.Queue[None]()

    async def events(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.send_message(
            {
                "type": "set_headers",
                "headers": {"content-type": "text/event-stream", "cache-control": "no-cache"},
            }
        )
        for i in range(4):
            await out.write(f"id: {i}\ndata: event {i}\n\n".encode())
            if i < 3:
                await next_event.get()  # the client asks for the next one after reading this
        await out.close()

    received: list[str] = []
    async with serve() as env:
        await env.route("/events", events)
        async with env.session.get(env.url("/events")) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/event-stream"
            buffer = b""
            while len(received) < 4:
                chunk = await resp.content.readany()
                assert chunk, "stream ended early"
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    received.append(event.decode())
                    next_event.put_nowait(None)
            assert await resp.content.read() == b""
    assert received == [f"id: {i}\ndata: event {i}" for i in range(4)]


async def test_json_body_larger_than_aiohttp_default_limit(serve: Serve) -> None:
    async def sizes(req: dict[str, Any]) -> dict[str, Any]:
        raw = await req["request_body"].read_all()
        return {"body": {"items": len(req["body"]), "raw": len(raw)}}

    document = [{"i": i, "pad": "x" * 40} for i in range(40_000)]  # ~2.4 MB of JSON
    async with serve() as env:
        await env.route("/big", sizes, method="POST")
        body = io.BytesIO(json.dumps(document).encode())
        headers = {"Content-Type": "application/json"}
        async with env.session.post(env.url("/big"), data=body, headers=headers) as resp:
            assert resp.status == 200
            data = await resp.json()
    assert data["items"] == 40_000
    assert data["raw"] > 2_000_000


async def test_stopping_the_worker_ends_open_streams_without_waiting_out_the_grace(
    serve: Serve,
) -> None:
    from plugins.http.server import SHUTDOWN_GRACE

    async def forever(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.send_message({"type": "set_headers", "headers": {"content-type": "text/plain"}})
        await out.write(b"first")
        try:
            await asyncio.Event().wait()
        finally:
            await out.close()  # SDK channel ends own a client session

    async with serve() as env:
        await env.route("/f", forever)
        async with env.session.get(env.url("/f")) as resp:
            assert await resp.content.readexactly(5) == b"first"
            loop = asyncio.get_running_loop()
            started = loop.time()
            await env.http.stop()
            assert loop.time() - started < SHUTDOWN_GRACE
            assert await resp.content.read() == b""


async def test_stream_outlives_the_timeout_and_ends_with_its_channel(serve: Serve) -> None:
    go = asyncio.Event()

    async def slow_stream(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.write(b"a")
        await go.wait()
        await out.write(b"b")
        await out.close()
        await asyncio.Event().wait()  # the handler never returns; the body still ends

    async with serve(default_timeout=200) as env:
        await env.route("/slow-stream", slow_stream)
        async with env.session.get(env.url("/slow-stream")) as resp:
            assert resp.status == 200
            assert await resp.content.readexactly(1) == b"a"
            await asyncio.sleep(0.4)  # well past default_timeout: time passing is the point
            go.set()
            assert await resp.content.read() == b"b"


async def test_client_leaving_a_stream_stops_the_handlers_writes(serve: Serve) -> None:
    from iii_sdk.channels import ChannelError

    stopped: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def endless(req: dict[str, Any]) -> None:
        out = req["response"]
        sent = 0
        try:
            while True:
                await out.write(b"data: tick\n\n")
                sent += 1
                await asyncio.sleep(0.005)  # a real event source's pace
        except ChannelError:
            stopped.set_result(sent)
        finally:
            await out.close()

    async with serve() as env:
        await env.route("/endless", endless)
        resp = await env.session.get(env.url("/endless"))
        assert await resp.content.readexactly(12) == b"data: tick\n\n"
        resp.close()  # drop the connection mid-stream
        sent = await asyncio.wait_for(stopped, 10)
    assert sent >= 1
