"""The start-up banner of ``iii``, in two parts.

:func:`banner` is printed as soon as the listeners are bound: version, config file, the
addresses actually bound (a wildcard bind says so, with the local URL to use), the built-ins,
worker processes and plugins. :func:`ready_report` is printed once every declared worker
process has connected (or failed to start, with the reason) and registrations have stopped
changing: the HTTP routes registered, and one example call.

Example output::

    iii engine 0.1.0 (python)
      config    /srv/app/config.yaml
      workers   ws://0.0.0.0:49134  (every interface; locally ws://127.0.0.1:49134)
      http      http://0.0.0.0:3111  (iii-http; every interface; locally http://127.0.0.1:3111)
      running   iii-http, iii-state, math-worker (process)
      plugins   http, pubsub, state
      ready     math-worker
      routes    POST /math/add -> math::add
      try       curl -s http://127.0.0.1:3111/math/add -H 'content-type: application/json' ...
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from iii_engine._version import ENGINE_VERSION
from iii_engine.access.exposure import open_listener_warnings
from iii_engine.cli.views import bind_text, example_call, local_host, route_path
from iii_engine.config.schema import EngineConfig
from iii_sdk.protocol import UNSET, from_raw

if TYPE_CHECKING:
    from iii_engine.engine import Engine

__all__ = ["banner", "print_when_ready", "ready_report", "wait_until_ready"]

log = logging.getLogger("iii.engine")

READY_TIMEOUT_S: Final = 15.0
"""The longest the report waits for declared worker processes to come up."""
_QUIET_S: Final = 0.3
"""Registrations unchanged for this long count as settled."""
_POLL_S: Final = 0.05


def banner(engine: Engine, config: EngineConfig) -> str:
    """The first part: version, config, bound addresses, what runs, plugins."""
    source = str(config.path) if config.path else "none (embedded defaults)"
    lines = [f"iii engine {ENGINE_VERSION} (python)", f"  config    {source}"]
    for listener in engine.listeners:
        lines.append(f"  workers   {bind_text('ws', listener.config.host, listener.port)}")
    lines += open_listener_warnings([listener.exposure for listener in engine.listeners])
    for instance_id, running in engine.builtins.items():
        for label, url in running.worker.urls().items():
            parts = urlsplit(str(url))
            text = bind_text(parts.scheme, parts.hostname or "", parts.port)
            if "  (" in text:
                text = text.replace("  (", f"  ({instance_id}; ", 1)
            else:
                text += f"  ({instance_id})"
            lines.append(f"  {label!s:<9} {text}")
    processes = [f"{e.instance_id} (process)" for e in config.workers if e.is_process]
    names = [*engine.builtins, *processes]
    lines.append(f"  running   {', '.join(names) or '(engine functions only)'}")
    plugins = [p.name for p in engine.plugins.plugins if p.error is None]
    lines.append(f"  plugins   {', '.join(plugins) or '(none)'}")
    return "\n".join(lines)


def _process_connected(engine: Engine, instance_id: str, name: str) -> bool:
    pid = engine.supervisor.pid(instance_id)
    for conn in engine.workers.connections.values():
        if conn.closing:
            continue
        if (pid is not None and conn.pid == pid) or conn.name in (name, instance_id):
            return True
    return False


def _fingerprint(engine: Engine) -> tuple[Any, ...]:
    return (engine.functions.keys(), tuple(sorted(engine.triggers.live)))


async def wait_until_ready(
    engine: Engine, config: EngineConfig, timeout_s: float = READY_TIMEOUT_S
) -> list[str]:
    """Wait for every declared process to connect or fail, then for registrations to settle.

    Returns the instance ids still not connected when ``timeout_s`` ran out.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    processes = [e for e in config.workers if e.is_process]

    def pending() -> list[str]:
        return [
            e.instance_id
            for e in processes
            if engine.supervisor.failure(e.instance_id) is None
            and not _process_connected(engine, e.instance_id, e.name)
        ]

    # No engine event says "this process's worker connected": poll, bounded by the deadline.
    while pending() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(_POLL_S)
    last, since = _fingerprint(engine), loop.time()
    while loop.time() - since < _QUIET_S and loop.time() < deadline:
        await asyncio.sleep(_POLL_S)
        current = _fingerprint(engine)
        if current != last:
            last, since = current, loop.time()
    return pending()


def _http_base(engine: Engine) -> str | None:
    for running in engine.builtins.values():
        found = running.worker.urls()
        if "http" in found:
            parts = urlsplit(str(found["http"]))
            return f"{parts.scheme}://{local_host(parts.hostname or '')}:{parts.port}"
    return None


def ready_report(engine: Engine, config: EngineConfig, waiting: list[str]) -> str:
    """The second part: processes up or failed, HTTP routes, one example call."""
    lines: list[str] = []
    up, failed = [], []
    for entry in config.workers:
        if not entry.is_process:
            continue
        reason = engine.supervisor.failure(entry.instance_id)
        if reason is not None:
            failed.append(f"{entry.instance_id}: {reason}")
        elif entry.instance_id not in waiting:
            up.append(entry.instance_id)
    if up:
        lines.append(f"  ready     {', '.join(up)}")
    if waiting:
        lines.append(f"  waiting   {', '.join(waiting)} (not connected yet)")
    lines += [f"  failed    {line}" for line in failed]
    routes = sorted(
        (route_path(b.config), str(b.config.get("http_method") or "GET").upper(), b)
        for b in engine.triggers.live.values()
        if b.trigger_type == "http" and isinstance(b.config, dict)
    )
    base = _http_base(engine)
    if not routes:
        lines.append("  routes    none yet (a worker serves one by registering an `http` trigger)")
        lines.append("  try       iii status")
        return "\n".join(lines)
    for i, (path, method, binding) in enumerate(routes):
        label = "routes" if i == 0 else ""
        lines.append(f"  {label:<9} {method} {path} -> {binding.function_id}")
    path, method, binding = routes[0]
    function = engine.functions.get(binding.namespace, binding.function_id)
    schema = None
    if function is not None and function.request_format is not UNSET:
        schema = from_raw(function.request_format)
    if base is not None:
        lines.append(f"  try       {example_call(base, method, path, schema)}")
    return "\n".join(lines)


async def print_when_ready(engine: Engine, config: EngineConfig) -> None:
    """Wait for the declared workers, then print :func:`ready_report` to stdout."""
    waiting = await wait_until_ready(engine, config)
    for instance_id in waiting:
        log.warning("worker %s has not connected after %.0fs", instance_id, READY_TIMEOUT_S)
    print(ready_report(engine, config, waiting), flush=True)
