"""Raw-protocol queue consumer for scenario 9: serves ``bench::job`` and ``bench::jobstats``.

Each job's data is ``{"i": n, "t": wall-clock send time, "f": fail-once flag}``. The worker
records the enqueue-to-start delay of each first attempt, fails the first attempt of ``f`` jobs,
and counts successes. ``bench::jobstats`` answers ``{"done", "p50_us", "failed"}`` and, with
``{"reset": true}``, starts a new measurement. Prints ``ready`` once registered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from typing import TYPE_CHECKING

import aiohttp
import msgspec
from aiohttp import WSMsgType

from bench.frames import (
    PING,
    decode_envelope,
    error_frame,
    register_function,
    result_frame,
    worker_register,
)
from bench.stats import percentile

if TYPE_CHECKING:
    from bench.load import RawSocket

_TEXT = WSMsgType.TEXT


class Job(msgspec.Struct):
    """A job's data."""

    i: int = 0
    t: float = 0.0
    f: bool = False


class StatsRequest(msgspec.Struct):
    """``bench::jobstats`` input."""

    reset: bool = False


_job = msgspec.json.Decoder(Job).decode
_stats = msgspec.json.Decoder(StatsRequest).decode


class Tally:
    """Counts and delays of the current measurement."""

    def __init__(self) -> None:
        self.done = 0
        self.failed: set[int] = set()
        self.started: set[int] = set()
        self.delays: list[float] = []

    def job(self, data: bytes) -> bool:
        """Record one attempt; False when it must fail."""
        job = _job(data)
        if job.i not in self.started:
            self.started.add(job.i)
            self.delays.append(time.time() - job.t)
        if job.f and job.i not in self.failed:
            self.failed.add(job.i)
            return False
        self.done += 1
        return True

    def report(self, data: bytes) -> bytes:
        """The figures so far (then reset, if asked)."""
        out = msgspec.json.encode(
            {
                "done": self.done,
                "failed": len(self.failed),
                "p50_us": percentile(self.delays, 50) * 1e6 if self.delays else 0.0,
            }
        )
        if _stats(data).reset:
            self.__init__()  # type: ignore[misc]
        return out


async def serve(ws: RawSocket, ready: asyncio.Event, tally: Tally) -> None:
    """Answer invocations until the socket closes."""
    send = ws.send_frame
    async for msg in ws:
        if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
            continue
        env = decode_envelope(msg.data)
        if env.type == "invokefunction" and env.invocation_id:
            fid = env.function_id or ""
            if fid == "bench::jobstats":
                frame = result_frame(env.invocation_id, fid, tally.report(bytes(env.data)))
            elif tally.job(bytes(env.data)):
                frame = result_frame(env.invocation_id, fid, b"null")
            else:
                frame = error_frame(env.invocation_id, fid, "failed_once", "failing once")
            await send(frame, _TEXT)
        elif env.type == "pong":
            ready.set()


async def run(url: str) -> None:
    """Connect, register, serve until SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url, max_msg_size=0, decode_text=False)
        ready = asyncio.Event()
        reader = asyncio.create_task(serve(ws, ready, Tally()))
        await ws.send_frame(worker_register(f"bench-queue-{os.getpid()}", os.getpid()), _TEXT)
        for fid in ("bench::job", "bench::jobstats"):
            await ws.send_frame(register_function(fid), _TEXT)
        await ws.send_frame(PING, _TEXT)
        await ready.wait()
        print("ready", flush=True)
        await stop.wait()
        reader.cancel()


def main() -> None:
    """Entry point: ``python -m bench.peers.queue_worker --url WS``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    asyncio.run(run(parser.parse_args().url))


if __name__ == "__main__":
    main()
