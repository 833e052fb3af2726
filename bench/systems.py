"""Systems under test and floors, each started as fresh processes on 127.0.0.1 for one cell.

Every factory is an async context manager yielding a :class:`System`: the URLs a client needs
and ``router``, the process whose CPU and RSS the cell measures (relay, echo server, engine,
nats-server, bare HTTP server).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml

from bench.load import call, connect_ws
from bench.procs import Proc, ProcessFailed, free_port, python_module, spawn

READY_TIMEOUT = 60.0


@dataclass
class Options:
    """How processes are started: uvloop or not, where logs go."""

    uvloop: bool
    logdir: Path
    profile: bool = False
    """Run the engine under cProfile; stats go to ``logdir/engine-<port>.prof``."""


@dataclass
class System:
    """A started system: client URLs and the measured process."""

    name: str
    router: Proc
    ws_url: str = ""
    http_url: str = ""
    nats_url: str = ""
    procs: list[Proc] = field(default_factory=list)


SystemContext = contextlib.AbstractAsyncContextManager[System]
"""What every system factory returns."""


@contextlib.asynccontextmanager
async def _running(procs: list[Proc]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await asyncio.gather(*(p.stop() for p in reversed(procs)))


async def _python(
    opts: Options, name: str, *args: str, pipe: bool = True, env: dict[str, str] | None = None
) -> Proc:
    argv = python_module(*args, uvloop=opts.uvloop)
    return await spawn(name, argv, opts.logdir, pipe_stdout=pipe, env=env)


@contextlib.asynccontextmanager
async def echo_floor(opts: Options) -> AsyncIterator[System]:
    """The one-hop WebSocket echo server."""
    port = free_port()
    procs: list[Proc] = []
    async with _running(procs):
        procs.append(await _python(opts, "echo", "bench.floors.echo", "--port", str(port)))
        await procs[0].wait_port(port)
        yield System("echo", procs[0], ws_url=f"ws://127.0.0.1:{port}/", procs=procs)


@contextlib.asynccontextmanager
async def relay_floor(
    opts: Options, *, connections: int = 1, functions: int = 1, prefix: str = "bench::echo"
) -> AsyncIterator[System]:
    """The two-hop relay with a raw echo worker behind it."""
    port = free_port()
    url = f"ws://127.0.0.1:{port}/"
    procs: list[Proc] = []
    async with _running(procs):
        procs.append(await _python(opts, "relay", "bench.floors.relay", "--port", str(port)))
        await procs[0].wait_port(port)
        procs.append(await _raw_worker(opts, url, connections, functions, prefix, 0))
        await procs[1].wait_line("ready", READY_TIMEOUT)
        yield System("relay", procs[0], ws_url=url, procs=procs)


@contextlib.asynccontextmanager
async def http_floor(opts: Options) -> AsyncIterator[System]:
    """The bare aiohttp HTTP handler."""
    port = free_port()
    procs: list[Proc] = []
    async with _running(procs):
        procs.append(await _python(opts, "http", "bench.floors.http", "--port", str(port)))
        await procs[0].wait_port(port)
        url = f"http://127.0.0.1:{port}/bench/echo"
        yield System("http", procs[0], http_url=url, procs=procs)


async def _raw_worker(
    opts: Options,
    url: str,
    connections: int,
    functions: int,
    prefix: str,
    routes: int,
    observe: str = "",
) -> Proc:
    args = [
        "--url",
        url,
        "--connections",
        str(connections),
        "--functions",
        str(functions),
        "--prefix",
        prefix,
        "--routes",
        str(routes),
    ]
    if observe:
        args += ["--observe", observe]
    return await _python(opts, "raw-worker", "bench.peers.raw_worker", *args)


RBAC_LISTENER: dict[str, object] = {
    # bench::echo answers its input, which reads as an AuthResult with every default: a real
    # auth call at connect that admits every client
    "auth_function_id": "bench::echo",
    "expose_functions": ['match("bench::*")', 'match("engine::functions::*")'],
}


def engine_config(
    ws_port: int,
    http_port: int | None,
    state: bool,
    extra: list[dict[str, object]] | None = None,
    cron: bool = False,
    rbac_port: int | None = None,
    observability: dict[str, object] | None = None,
) -> str:
    """The YAML config of an engine with the named built-ins on the given ports, plus ``extra``
    entries (e.g. an ``iii-queue`` or a file-backed ``iii-state``).

    With ``rbac_port``, a second listener there authenticates clients and checks every call.
    Without ``observability`` the engine runs iii-observability with its defaults (tracing on,
    sampling 1.0, memory exporters), like any config that does not mention it.
    """
    workers: list[dict[str, object]] = [
        {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": ws_port}}
    ]
    if rbac_port is not None:
        workers.append(
            {
                "name": "iii-worker-manager",
                "config": {"host": "127.0.0.1", "port": rbac_port, "rbac": RBAC_LISTENER},
            }
        )
    if observability is not None:
        workers.append({"name": "iii-observability", "config": observability})
    if http_port is not None:
        workers.append({"name": "iii-http", "config": {"host": "127.0.0.1", "port": http_port}})
    if state:
        workers.append({"name": "iii-state", "config": {"adapter": {"name": "memory"}}})
    workers += extra or []
    if cron:
        workers.append({"name": "iii-cron"})
    return yaml.safe_dump({"workers": workers}, sort_keys=False)


def engine_available() -> str | None:
    """None when ``python -m iii_engine`` can run, else why not."""
    if importlib.util.find_spec("iii_engine.__main__") is None:
        return "iii_engine has no __main__ yet"
    return None


@contextlib.asynccontextmanager
async def engine(
    opts: Options,
    *,
    http: bool = False,
    state: bool = False,
    worker: str | None = "raw",
    connections: int = 1,
    functions: int = 1,
    prefix: str = "bench::echo",
    routes: int = 0,
    extra: list[dict[str, object]] | None = None,
    cron_jobs: int = 0,
    rbac: bool = False,
    observability: dict[str, object] | None = None,
    block_observability: bool = False,
    observe: str = "",
) -> AsyncIterator[System]:
    """Our engine, plus a worker process: ``raw`` (lean), ``sdk`` (iii_sdk.Worker) or None.

    ``cron_jobs`` adds iii-cron and a raw worker binding that many every-second cron triggers.
    With ``rbac``, clients connect to a second listener with an auth function and
    ``expose_functions`` (the worker stays on the first).
    ``observability`` is the iii-observability config block; ``block_observability`` runs the
    engine without that plugin at all (``III_BLOCK_PLUGINS=observability``: no observer).
    ``observe`` (filter JSON): the raw worker also observes its function with that filter.
    """
    ws_port = free_port()
    http_port = free_port() if http else None
    rbac_port = free_port() if rbac else None
    config = opts.logdir / f"engine-{ws_port}.yaml"
    config.write_text(
        engine_config(
            ws_port,
            http_port,
            state,
            extra,
            cron=cron_jobs > 0,
            rbac_port=rbac_port,
            observability=observability,
        )
    )
    url = f"ws://127.0.0.1:{ws_port}/"
    procs: list[Proc] = []
    async with _running(procs):
        profile = (
            ["--cprofile", str(opts.logdir / f"engine-{ws_port}.prof")] if opts.profile else []
        )
        eng = await _python(
            opts,
            "engine",
            *profile,
            "iii_engine",
            "--config",
            str(config),
            "--log-level",
            "warning",
            pipe=False,
            env={"III_BLOCK_PLUGINS": "observability"} if block_observability else None,
        )
        procs.append(eng)
        await eng.wait_port(ws_port)
        if http_port is not None:
            await eng.wait_port(http_port)
        if worker == "raw":
            procs.append(
                await _raw_worker(opts, url, connections, functions, prefix, routes, observe)
            )
        elif worker == "sdk":
            procs.append(
                await _python(
                    opts,
                    "sdk-worker",
                    "bench.peers.sdk_worker",
                    *("--url", url, "--function", prefix, "--routes", str(routes)),
                )
            )
        if worker is not None:
            await procs[-1].wait_line("ready", READY_TIMEOUT)
            await wait_functions(url, prefix, connections * functions + (1 if routes else 0), eng)
        if cron_jobs:
            args = ["--url", url, "--jobs", str(cron_jobs)]
            procs.append(await _python(opts, "cron-worker", "bench.peers.cron_worker", *args))
            await procs[-1].wait_line("ready", READY_TIMEOUT)
        http_url = f"http://127.0.0.1:{http_port}/bench/r{max(routes - 1, 0)}" if http_port else ""
        if routes:
            await wait_http(http_url, eng)
        if rbac_port is not None:
            await eng.wait_port(rbac_port)
            url = f"ws://127.0.0.1:{rbac_port}/"
        yield System("engine", eng, ws_url=url, http_url=http_url, procs=procs)


async def wait_functions(url: str, prefix: str, count: int, eng: Proc) -> None:
    """Poll ``engine::functions::list`` until ``count`` ids with ``prefix`` (or bench::) show."""
    deadline = time.monotonic() + READY_TIMEOUT
    async with aiohttp.ClientSession() as session:
        ws = await connect_ws(session, url)
        try:
            while True:
                listed = await call(ws, "engine::functions::list", {"prefix": "bench"})
                ids = [f["function_id"] for f in listed.get("functions", [])]
                if sum(1 for f in ids if f.startswith(prefix) or f == "bench::http") >= count:
                    return
                eng.check_alive()
                if time.monotonic() > deadline:
                    raise ProcessFailed(f"engine lists {len(ids)} of {count} bench functions")
                await asyncio.sleep(0.02)
        finally:
            await ws.close()


async def wait_http(url: str, eng: Proc) -> None:
    """Poll a route until it answers 200 (its trigger registration has no completion event)."""
    deadline = time.monotonic() + READY_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.post(
                url, data=b"{}", headers={"content-type": "application/json"}
            ) as r:
                if r.status == 200:
                    return
            eng.check_alive()
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{url} still answers {r.status}\n{eng.tail()}")
            await asyncio.sleep(0.02)


def nats_available() -> str | None:
    """None when the NATS peer can run, else the skip note."""
    if shutil.which("nats-server") is None:
        return "skipped: nats-server not installed (run bench/setup)"
    if importlib.util.find_spec("nats") is None:
        return "skipped: nats-py not installed (run bench/setup)"
    return None


@contextlib.asynccontextmanager
async def nats_peer(opts: Options) -> AsyncIterator[System]:
    """nats-server plus a nats-py responder on ``bench.echo``."""
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    server = shutil.which("nats-server") or "nats-server"
    procs: list[Proc] = []
    async with _running(procs):
        procs.append(
            await spawn(
                "nats-server",
                [server, "-a", "127.0.0.1", "-p", str(port)],
                opts.logdir,
                pipe_stdout=False,
            )
        )
        await procs[0].wait_port(port)
        procs.append(await _python(opts, "nats-echo", "bench.peers.nats_echo", "--url", url))
        await procs[1].wait_line("ready", READY_TIMEOUT)
        yield System("nats", procs[0], nats_url=url, procs=procs)
