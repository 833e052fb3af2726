"""Wait until the quickstart is up, then print the commands to try (run by scripts/run).

Ready means: the engine lists ``math::add`` (math-worker) and ``math::add_two_numbers``
(caller-worker), and ``POST /math/add-two-numbers`` answers (an empty body gets the
caller-worker's own 400, which changes no state). Nothing announces that from outside the
engine, so both are polled until a deadline; the helper gives up quietly if the engine exits.

    python scripts/_quickstart_ready.py --engine-pid PID --iii PATH
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import textwrap

import aiohttp

from iii_sdk import Worker

FUNCTIONS = {"math::add", "math::add_two_numbers"}
ROUTE = "/math/add-two-numbers"
POLL_S = 0.1


def alive(pid: int) -> bool:
    """Whether the process ``pid`` still exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def connected(worker: Worker, engine_pid: int) -> bool:
    """Connect (the SDK retries while the engine is starting), unless the engine exits."""
    connecting = asyncio.create_task(worker.connect())
    while not connecting.done():
        if not alive(engine_pid):
            connecting.cancel()
            return False
        await asyncio.wait([connecting], timeout=POLL_S)
    connecting.result()
    return True


async def functions_listed(worker: Worker, engine_pid: int) -> bool:
    """Poll ``engine::functions::list`` until both quickstart functions are registered."""
    while alive(engine_pid):
        listed = await worker.trigger("engine::functions::list", {})
        if {f["function_id"] for f in listed["functions"]} >= FUNCTIONS:
            return True
        await asyncio.sleep(POLL_S)
    return False


async def route_answers(url: str, engine_pid: int) -> bool:
    """Poll the HTTP route until the caller-worker answers it (400 for an empty body)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        while alive(engine_pid):
            try:
                async with http.post(url, json={}) as response:
                    if response.status == 400:
                        return True
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(POLL_S)
    return False


def instructions(http_url: str, iii: str, options: str, console_url: str | None = None) -> str:
    """The three commands of the README's quickstart, with this run's addresses and ``iii``."""
    console = f"\nThe web console: {console_url}\n" if console_url else ""
    return (
        textwrap.dedent(
            f"""
        The quickstart is ready: math-worker (math::add) and caller-worker
        (math::add_two_numbers, POST {ROUTE}) are connected. From another shell:

          curl -s {http_url} -H 'content-type: application/json' -d '{{"a": 100, "b": 200}}'
          {iii} trigger math::add a=2 b=3{options}
          {iii} trigger state::get scope=math key=running_total{options}
        """
        )
        + console
    )


def local(host: str) -> str:
    """``localhost`` for the loopback address (as the README writes it), else ``host``."""
    return "localhost" if host in {"127.0.0.1", "localhost"} else host


async def main() -> int:
    """Wait for readiness, print the instructions; exit 1 if the engine exited first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine-pid", type=int, required=True)
    parser.add_argument("--iii", default="iii", help="the iii command to show")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    host = os.environ.get("III_HOST", "127.0.0.1")
    port = os.environ.get("III_PORT", "49134")
    http_host = os.environ.get("III_HTTP_HOST", "127.0.0.1")
    http_port = os.environ.get("III_HTTP_PORT", "3111")
    options = ""  # for `iii trigger`, when the engine is not at its defaults
    if local(host) != "localhost":
        options += f" --address {host}"
    if port != "49134":
        options += f" --port {port}"
    # The SDK warns at every refused connection while the engine starts: not worth showing.
    logging.getLogger("iii.sdk").setLevel(logging.ERROR)
    worker = Worker(f"ws://{host}:{port}", name="quickstart-ready")
    try:
        async with asyncio.timeout(args.timeout):
            if not await connected(worker, args.engine_pid):
                return 1
            if not await functions_listed(worker, args.engine_pid):
                return 1
            http_url = f"http://{local(http_host)}:{http_port}{ROUTE}"
            if not await route_answers(http_url, args.engine_pid):
                return 1
    except TimeoutError:
        print(f"warning: the quickstart is not ready after {args.timeout:.0f} s", file=sys.stderr)
        return 1
    finally:
        await worker.close()
    console_port = os.environ.get("III_CONSOLE_PORT", "3113")
    console_host = local(os.environ.get("III_CONSOLE_HOST", "127.0.0.1"))
    console_url = f"http://{console_host}:{console_port}/" if console_port != "0" else None
    print(instructions(http_url, args.iii, options, console_url), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
