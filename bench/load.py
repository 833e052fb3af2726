"""Closed-loop load generators, each bounded in operation count and in time.

* :func:`ws_pump`: the lean raw client. One coroutine per socket keeps ``window`` invocations in
  flight: it primes the window, then sends one new frame for each result it reads.
* :func:`http_load`, :func:`sdk_load`, :func:`nats_load`: ``window`` coroutines, each awaiting
  one request at a time (what users of those clients write).
* :func:`ws_batches` / :func:`http_batches`: fire a batch of concurrent requests, wait for all,
  record the time to the last answer (the stall / Nagle check).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import aiohttp
import msgspec
from aiohttp import WSMsgType

from bench.frames import decode_envelope, invoke, invoke_head, next_id

if TYPE_CHECKING:
    RawSocket = aiohttp.ClientWebSocketResponse[Literal[False]]
    """A client socket whose text frames arrive as bytes."""

T = TypeVar("T")
_TEXT = WSMsgType.TEXT
_now = time.perf_counter
DRAIN_GRACE = 15.0
MAX_ERROR_SHARE = 0.01


class LoadError(RuntimeError):
    """The load failed (socket closed, too many error results)."""


@dataclass
class LoadResult:
    """Operations completed, wall time, per-operation latencies (seconds), error results."""

    ops: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def rate(self) -> float:
        """Completed operations per second."""
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0

    def check(self) -> LoadResult:
        """Raise :class:`LoadError` if more than 1% of the operations failed."""
        if self.ops == 0 or self.errors > self.ops * MAX_ERROR_SHARE:
            raise LoadError(f"{self.errors}/{self.ops} operations failed: {self.first_error}")
        return self


def merge(results: Sequence[LoadResult]) -> LoadResult:
    """Combine concurrent loads: ops add up, wall time is the longest."""
    out = LoadResult()
    for r in results:
        out.ops += r.ops
        out.elapsed = max(out.elapsed, r.elapsed)
        out.latencies.extend(r.latencies)
        out.errors += r.errors
        out.first_error = out.first_error or r.first_error
    return out


async def connect_ws(session: aiohttp.ClientSession, url: str) -> RawSocket:
    """Open a raw protocol socket (frames arrive as bytes, no compression, no size limit)."""
    return await session.ws_connect(url, max_msg_size=0, decode_text=False, compress=0)


async def _receive(ws: RawSocket) -> bytes:
    msg = await ws.receive()
    if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
        raise LoadError(f"socket ended: {msg.type.name} {msg.data!r}")
    data: bytes = msg.data
    return data


async def ws_pump(
    ws: RawSocket,
    heads: Sequence[bytes],
    *,
    window: int,
    max_ops: int,
    duration: float,
) -> LoadResult:
    """Keep ``window`` invocations in flight on ``ws``, cycling through the frame ``heads``."""
    out = LoadResult()
    sent: dict[str, float] = {}
    send = ws.send_frame
    n_heads = len(heads)
    n_sent = 0
    start = _now()
    deadline = start + duration
    async with asyncio.timeout(duration + DRAIN_GRACE):
        for _ in range(min(window, max_ops)):
            sid = next_id()
            sent[sid] = _now()
            await send(invoke(heads[n_sent % n_heads], sid), _TEXT)
            n_sent += 1
        while sent:
            env = decode_envelope(await _receive(ws))
            t0 = sent.pop(env.invocation_id or "", None)
            if t0 is None:
                continue
            now = _now()
            out.latencies.append(now - t0)
            if env.error is not None:
                out.errors += 1
                out.first_error = out.first_error or f"{env.error.code}: {env.error.message}"
            if n_sent < max_ops and now < deadline:
                sid = next_id()
                sent[sid] = now
                await send(invoke(heads[n_sent % n_heads], sid), _TEXT)
                n_sent += 1
    out.ops = len(out.latencies)
    out.elapsed = _now() - start
    return out


async def call(ws: RawSocket, function_id: str, data: Any, within: float = 30.0) -> Any:
    """One sync invocation on an otherwise idle socket; returns the decoded result."""
    sid = next_id()
    await ws.send_frame(invoke(invoke_head(function_id, msgspec.json.encode(data)), sid), _TEXT)
    async with asyncio.timeout(within):
        while True:
            env = decode_envelope(await _receive(ws))
            if env.type == "invocationresult" and env.invocation_id == sid:
                if env.error is not None:
                    raise LoadError(f"{function_id}: {env.error.code}: {env.error.message}")
                return msgspec.json.decode(env.result)


async def ws_batches(
    ws: RawSocket, head: bytes, *, batch: int, max_ops: int, duration: float
) -> LoadResult:
    """Send ``batch`` invocations at once, wait for all; latencies are per batch."""
    out = LoadResult()
    start = _now()
    deadline = start + duration
    async with asyncio.timeout(duration + DRAIN_GRACE):
        while out.ops < max_ops and _now() < deadline:
            t0 = _now()
            ids = {next_id() for _ in range(batch)}
            for sid in ids:
                await ws.send_frame(invoke(head, sid), _TEXT)
            while ids:
                env = decode_envelope(await _receive(ws))
                ids.discard(env.invocation_id or "")
                if env.error is not None:
                    out.errors += 1
            out.latencies.append(_now() - t0)
            out.ops += 1
    out.elapsed = _now() - start
    return out


async def _closed_loop(
    call: Callable[[T], Awaitable[Any]], arg: T, *, window: int, max_ops: int, duration: float
) -> LoadResult:
    """Run ``window`` sequential loops of ``await call(arg)`` (an exception is an error result).

    The loop is as lean as :func:`ws_pump`'s, so it charges the client being measured little of
    its own: the call is awaited directly (no wrapper coroutine) and one clock read per call
    ends one call's latency and starts the next one's.
    """
    out = LoadResult()
    latencies = out.latencies
    budget = [max_ops]
    start = _now()
    deadline = start + duration

    async def loop() -> None:
        t0 = _now()
        while budget[0] > 0 and t0 < deadline:
            budget[0] -= 1
            try:
                await call(arg)
            except Exception as exc:
                out.errors += 1
                out.first_error = out.first_error or repr(exc)
            now = _now()
            latencies.append(now - t0)
            t0 = now

    async with asyncio.timeout(duration + DRAIN_GRACE):
        await asyncio.gather(*(loop() for _ in range(window)))
    out.ops = len(latencies)
    out.elapsed = _now() - start
    return out


def http_session(connections: int) -> aiohttp.ClientSession:
    """A client session holding at most ``connections`` keep-alive connections."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))


async def http_load(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    window: int,
    max_ops: int,
    duration: float,
) -> LoadResult:
    """POST ``body`` as JSON to ``url`` with ``window`` requests in flight."""
    headers = {"content-type": "application/json"}

    async def one(data: bytes) -> None:
        async with session.post(url, data=data, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise LoadError(f"HTTP {resp.status}")

    return await _closed_loop(one, body, window=window, max_ops=max_ops, duration=duration)


async def http_batches(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    batch: int,
    max_ops: int,
    duration: float,
) -> LoadResult:
    """POST ``batch`` requests at once, wait for all; latencies are per batch."""
    headers = {"content-type": "application/json"}
    out = LoadResult()

    async def one() -> None:
        async with session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                out.errors += 1
                out.first_error = f"HTTP {resp.status}"

    start = _now()
    deadline = start + duration
    async with asyncio.timeout(duration + DRAIN_GRACE):
        while out.ops < max_ops and _now() < deadline:
            t0 = _now()
            await asyncio.gather(*(one() for _ in range(batch)))
            out.latencies.append(_now() - t0)
            out.ops += 1
    out.elapsed = _now() - start
    return out


async def sdk_load(
    trigger: Callable[[dict[str, Any]], Awaitable[Any]],
    function_id: str,
    payload: Any,
    *,
    window: int,
    max_ops: int,
    duration: float,
) -> LoadResult:
    """Sync triggers through an SDK's ``trigger(request)`` coroutine function."""
    request = {"function_id": function_id, "payload": payload}
    return await _closed_loop(trigger, request, window=window, max_ops=max_ops, duration=duration)


async def nats_load(
    nc: Any, subject: str, payload: bytes, *, window: int, max_ops: int, duration: float
) -> LoadResult:
    """NATS request/reply with ``window`` requests in flight."""
    request = functools.partial(nc.request, subject, timeout=10)
    return await _closed_loop(request, payload, window=window, max_ops=max_ops, duration=duration)


async def close_quietly(*closers: Callable[[], Awaitable[Any]]) -> None:
    """Run close coroutines, ignoring errors (the peer may already be gone)."""
    for close in closers:
        with contextlib.suppress(Exception):
            await close()
