"""Raw-protocol worker for scenario 13: N cron triggers on one function, lateness recorded.

Registers ``bench13::tick`` and ``--jobs`` ``cron`` triggers (``* * * * * *`` by default) on
it, plus ``bench13::stats`` and ``bench13::jobs`` (``{"on": false}`` unregisters every trigger,
``{"on": true}`` registers them again; it answers after sending the frames, which the engine
handles in order). Each tick invocation is answered at once (result null) and kept as
(received ns, payload bytes); ``bench13::stats`` returns the figures since the previous call
with ``{"reset": true}``: firings, distinct ticks, and lateness percentiles of ``actual_time``
(engine) and of the receipt (delivery) against ``scheduled_time``. Prints ``ready`` once the
engine has processed every registration, then serves until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec
from aiohttp import WSMsgType

from bench.frames import PING, decode_envelope, register_function, result_frame, worker_register
from bench.stats import percentile

if TYPE_CHECKING:
    from bench.load import RawSocket

_TEXT = WSMsgType.TEXT
TICK = "bench13::tick"
STATS = "bench13::stats"
JOBS = "bench13::jobs"


class _Tick(msgspec.Struct):
    scheduled_time: str
    actual_time: str


_decode_tick = msgspec.json.Decoder(_Tick).decode


def epoch_ns(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits."""
    head, sep, rest = text.partition(".")
    fraction = 0
    if sep:
        cut = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
        fraction = int(rest[:cut].ljust(9, "0")[:9])
        head += rest[cut:]
    return int(datetime.fromisoformat(head).timestamp()) * 1_000_000_000 + fraction


def untrigger_frame(index: int) -> bytes:
    """The ``unregistertrigger`` frame of cron job ``index``."""
    return msgspec.json.encode(
        {"type": "unregistertrigger", "id": f"bench13-job-{index}", "trigger_type": "cron"}
    )


def trigger_frame(index: int, expression: str) -> bytes:
    """A ``registertrigger`` frame binding cron job ``index`` to ``bench13::tick``."""
    return msgspec.json.encode(
        {
            "type": "registertrigger",
            "id": f"bench13-job-{index}",
            "trigger_type": "cron",
            "function_id": TICK,
            "config": {"expression": expression},
        }
    )


class Recorder:
    """Firings since the last reset."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bytes]] = []

    def stats(self) -> dict[str, Any]:
        """Lateness figures (microseconds) of the recorded firings."""
        engine: list[float] = []
        delivery: list[float] = []
        ticks: set[str] = set()
        for received, raw in self.seen:
            tick = _decode_tick(raw)
            scheduled = epoch_ns(tick.scheduled_time)
            engine.append((epoch_ns(tick.actual_time) - scheduled) / 1e3)
            delivery.append((received - scheduled) / 1e3)
            ticks.add(tick.scheduled_time)
        if not engine:
            return {"firings": 0}
        return {
            "firings": len(engine),
            "ticks": len(ticks),
            "lateness_p50_us": percentile(engine, 50),
            "lateness_p99_us": percentile(engine, 99),
            "lateness_max_us": max(engine),
            "delivery_p50_us": percentile(delivery, 50),
            "delivery_p99_us": percentile(delivery, 99),
        }


async def serve(
    ws: RawSocket, ready: asyncio.Event, recorder: Recorder, args: argparse.Namespace
) -> None:
    """Answer invocations until the socket closes."""
    send = ws.send_frame
    now = time.time_ns
    async for msg in ws:
        if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
            continue
        env = decode_envelope(msg.data)
        if env.type == "invokefunction" and env.invocation_id:
            fid = env.function_id or ""
            if fid == TICK:
                recorder.seen.append((now(), bytes(env.data)))
                result = b"null"
            elif fid == JOBS:
                on = b'"on":true' in bytes(env.data)
                for index in range(args.jobs):
                    frame = trigger_frame(index, args.expression) if on else untrigger_frame(index)
                    await send(frame, _TEXT)
                result = b"null"
            else:
                result = msgspec.json.encode(recorder.stats())
                if b'"reset":true' in bytes(env.data):
                    recorder.seen.clear()
            await send(result_frame(env.invocation_id, fid, result), _TEXT)
        elif env.type == "pong":
            ready.set()


async def run(args: argparse.Namespace) -> None:
    """Connect, register, report readiness, serve until SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    recorder = Recorder()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(args.url, max_msg_size=0, decode_text=False)
        ready = asyncio.Event()
        reader = asyncio.create_task(serve(ws, ready, recorder, args))
        await ws.send_frame(worker_register(f"bench-cron-{os.getpid()}", os.getpid()), _TEXT)
        for fid in (TICK, STATS, JOBS):
            await ws.send_frame(register_function(fid), _TEXT)
        for index in range(args.jobs):
            await ws.send_frame(trigger_frame(index, args.expression), _TEXT)
        await ws.send_frame(PING, _TEXT)
        await ready.wait()
        print("ready", flush=True)
        await stop.wait()
        reader.cancel()


def main() -> None:
    """Entry point: ``python -m bench.peers.cron_worker --url WS [--jobs N]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--expression", default="* * * * * *")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
