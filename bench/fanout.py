"""Scenario 14's machinery: N raw stream subscribers, one writer, delivery to the last of them.

Subscribers are :class:`asyncio.Protocol` WebSocket clients (no task, no aiohttp per socket):
1,000 of them in the bench process would otherwise cost the client far more than the server
under test. Each event carries ``"seq":k``; an event is complete when all N subscribers got it.

* latency phase: one event at a time; the time from the write to the last delivery (p50/p99);
* throughput phase: ``WINDOW`` events outstanding; deliveries/s = N x completed events / time.

The systems: our engine with iii-stream (writer = ``stream::set`` over the worker socket,
subscribers on the stream port) and the bare aiohttp broadcast floor
(:mod:`bench.floors.broadcast`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import aiohttp
import yaml

from bench.cells import Cell, Context, CpuMeter, Metrics
from bench.load import connect_ws
from bench.procs import Proc, free_port, python_module, spawn
from bench.stats import percentile
from bench.systems import Options, System

WINDOW = 16
PAD = "x" * 64
_now = time.perf_counter


@dataclass
class FanoutSystem:
    """A started system: the writer's URL, the subscribers' URL, the measured process."""

    system: System
    write_url: str
    sub_url: str


class Subscriber(asyncio.Protocol):
    """A minimal WebSocket client: handshake, one ``join``, then text frames to ``on_seq``."""

    def __init__(self, host_port: str, path: str, join: bytes, fanout: Fanout) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.join = join
        self.fanout = fanout
        self.buf = bytearray()
        self.upgraded = False
        self.synced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's does not subclass asyncio.Transport).
        self.transport = cast(asyncio.Transport, transport)
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.synced.done():
            self.synced.set_exception(ConnectionError(f"subscriber closed: {exc}"))

    def data_received(self, data: bytes) -> None:
        # Fast path: one whole small text frame and nothing buffered (the usual delivery).
        if self.upgraded and not self.buf and len(data) > 2 and data[0] == 0x81:
            size = data[1]
            if size < 126 and len(data) == size + 2:
                self._frame(data[2:])
                return
            if size == 126 and len(data) == int.from_bytes(data[2:4]) + 4:
                self._frame(data[4:])
                return
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buf[:end]:
                raise ConnectionError(bytes(buf[:end]).decode(errors="replace"))
            del buf[: end + 4]
            self.upgraded = True
            assert self.transport is not None
            self.transport.write(_masked(self.join))
        while len(buf) >= 2:
            size = buf[1] & 0x7F
            offset = 2
            if size == 126:
                if len(buf) < 4:
                    return
                size, offset = int.from_bytes(buf[2:4]), 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size, offset = int.from_bytes(buf[2:10]), 10
            if len(buf) < offset + size:
                return
            opcode = buf[0] & 0x0F
            payload = bytes(buf[offset : offset + size])
            del buf[: offset + size]
            if opcode == 1:
                self._frame(payload)

    def _frame(self, payload: bytes) -> None:
        if not self.synced.done():
            self.synced.set_result(None)
            return
        start = payload.find(b'"seq":')
        if start >= 0:
            start += 6
            self.fanout.delivered(int(payload[start : payload.index(b",", start)]))


def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    size = len(payload)
    if size < 126:
        return bytes((0x81, 0x80 | size)) + mask + body
    return struct.pack("!BBH", 0x81, 0x80 | 126, size) + mask + body


class Fanout:
    """Counts deliveries per event and frees the writer's window when an event is complete."""

    def __init__(self, subscribers: int) -> None:
        self.n = subscribers
        self.remaining: dict[int, int] = {}
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.free = asyncio.Semaphore(1)

    def delivered(self, seq: int) -> None:
        left = self.remaining.get(seq)
        if left is None:
            return
        if left > 1:
            self.remaining[seq] = left - 1
            return
        del self.remaining[seq]
        self.latencies.append(_now() - self.sent_at.pop(seq))
        self.free.release()

    async def run(
        self, writer: aiohttp.ClientWebSocketResponse, window: int, max_events: int, duration: float
    ) -> tuple[int, float]:
        """Write up to ``max_events`` with ``window`` outstanding; return (completed, seconds)."""
        self.latencies = []
        self.free = asyncio.Semaphore(window)
        start = _now()
        seq = 0
        base = int(time.time() * 1000) * 1000
        while seq < max_events and _now() - start < duration:
            await self.free.acquire()
            key = base + seq
            self.remaining[key] = self.n
            self.sent_at[key] = _now()
            await writer.send_frame(_set_frame(key), aiohttp.WSMsgType.TEXT)
            seq += 1
        async with asyncio.timeout(30):
            for _ in range(window):
                await self.free.acquire()
        return len(self.latencies), _now() - start


def _set_frame(seq: int) -> bytes:
    return (
        b'{"type":"invokefunction","function_id":"stream::set","invocation_id":"00000000-0000-4000-'
        b'8000-%012x","data":{"stream_name":"bench","group_id":"g","item_id":"i",'
        b'"data":{"seq":%d,"pad":"%s"}}}' % (seq % 2**48, seq, PAD.encode())
    )


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


@contextlib.asynccontextmanager
async def subscribers(url: str, count: int, fanout: Fanout) -> AsyncIterator[list[Subscriber]]:
    """``count`` joined subscribers on ``url`` (``ws://host:port/path``)."""
    host_port, _, path = url.removeprefix("ws://").partition("/")
    host, port = host_port.rsplit(":", 1)
    join = b'{"type":"join","data":{"subscriptionId":"s","streamName":"bench","groupId":"g"}}'
    loop = asyncio.get_running_loop()
    subs: list[Subscriber] = []
    try:
        for batch in range(0, count, 100):
            made = await asyncio.gather(
                *(
                    loop.create_connection(
                        lambda: Subscriber(host_port, "/" + path, join, fanout), host, int(port)
                    )
                    for _ in range(min(100, count - batch))
                )
            )
            subs.extend(protocol for _, protocol in made)
        async with asyncio.timeout(30):
            await asyncio.gather(*(s.synced for s in subs))
        yield subs
    finally:
        for sub in subs:
            if sub.transport is not None:
                sub.transport.close()


def fanout_cell(key: str, kind: str, count: int) -> Cell:
    """Deliveries/s (``rate``) and latency to the last subscriber (``p50_us``, ``p99_us``)."""

    async def run(ctx: Context) -> Metrics:
        b = ctx.budget
        factory = stream_engine if kind == "engine" else broadcast_floor
        latency_events = 100 if ctx.quick else 400
        async with (
            factory(ctx.opts) as fs,
            aiohttp.ClientSession() as session,
        ):
            fanout = Fanout(count)
            async with subscribers(fs.sub_url, count, fanout):
                writer = await connect_ws(session, fs.write_url)
                drain = asyncio.create_task(_drain(writer))
                try:
                    await fanout.run(writer, WINDOW, 20, b.warmup)
                    await fanout.run(writer, 1, latency_events, b.duration)
                    latencies = fanout.latencies
                    meter = CpuMeter(fs.system)
                    meter.start()
                    done, elapsed = await fanout.run(writer, WINDOW, b.max_ops, b.duration)
                    meter.stop()
                    rss_mb = fs.system.router.rss_kb() / 1024
                finally:
                    drain.cancel()
                    await writer.close()
        deliveries = done * count
        return {
            "rate": deliveries / elapsed if elapsed > 0 else 0.0,
            "events_per_s": done / elapsed if elapsed > 0 else 0.0,
            "p50_us": percentile(latencies, 50) * 1e6,
            "p99_us": percentile(latencies, 99) * 1e6,
            "cpu_us": meter.router_s / max(deliveries, 1) * 1e6,
            "client_cpu_us": meter.client_s / max(deliveries, 1) * 1e6,
            "rss_mb": rss_mb,
        }

    return Cell(key, run)


async def _python(opts: Options, name: str, *args: str) -> Proc:
    return await spawn(
        name, python_module(*args, uvloop=opts.uvloop), opts.logdir, pipe_stdout=False
    )


@contextlib.asynccontextmanager
async def broadcast_floor(opts: Options) -> AsyncIterator[FanoutSystem]:
    """The bare aiohttp broadcast server."""
    port = free_port()
    proc = await _python(opts, "broadcast", "bench.floors.broadcast", "--port", str(port))
    try:
        await proc.wait_port(port)
        url = f"ws://127.0.0.1:{port}"
        yield FanoutSystem(System("broadcast", proc), f"{url}/write", f"{url}/")
    finally:
        await proc.stop()


@contextlib.asynccontextmanager
async def stream_engine(opts: Options) -> AsyncIterator[FanoutSystem]:
    """Our engine with iii-stream (memory store)."""
    ws_port, stream_port = free_port(), free_port()
    workers = [
        {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": ws_port}},
        {
            "name": "iii-stream",
            "config": {"host": "127.0.0.1", "port": stream_port, "adapter": {"name": "memory"}},
        },
    ]
    config = opts.logdir / f"engine-stream-{ws_port}.yaml"
    config.write_text(yaml.safe_dump({"workers": workers}, sort_keys=False))
    profile = (
        ["--cprofile", str(opts.logdir / f"engine-stream-{ws_port}.prof")] if opts.profile else []
    )
    proc = await _python(
        opts, "engine", *profile, "iii_engine", "--config", str(config), "--log-level", "warning"
    )
    try:
        await proc.wait_port(ws_port)
        await proc.wait_port(stream_port)
        yield FanoutSystem(
            System("engine", proc), f"ws://127.0.0.1:{ws_port}/", f"ws://127.0.0.1:{stream_port}/"
        )
    finally:
        await proc.stop()
