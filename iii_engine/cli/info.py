"""The informational subcommands: ``check-config``, ``plugins`` and ``status``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from iii_engine.access.listener_access import check_managers
from iii_engine.cli._rawclient import EngineUnreachable, RawClient, WebSocketFailure
from iii_engine.config.plan import make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import load_config
from iii_sdk.errors import ConfigError, InvocationError

__all__ = ["check_config", "list_plugins", "status", "table"]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain left-aligned text table (no colour, safe for pipes)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def check_config(path: Path, plugins: PluginManager | None = None) -> int:
    """Validate a config file: syntax, entries, worker names and each built-in's ``config:``."""
    try:
        config = load_config(path)
        manager = plugins or PluginManager()
        manager.load()
        check_managers(config, make_plan(config, manager).managers)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(e.instance_id for e in config.workers) or "(none)"
    print(f"{path}: OK ({len(config.workers)} workers: {names})")
    return 0


def list_plugins(plugins: PluginManager | None = None) -> int:
    """Print the installed plugins and the workers they provide."""
    manager = plugins or PluginManager()
    manager.load()
    rows = [
        (p.name, p.value, ", ".join(p.workers) or "-", p.error or "loaded") for p in manager.plugins
    ]
    print(table(("PLUGIN", "MODULE", "WORKERS", "STATUS"), rows))
    print()
    workers = [
        (
            spec.name,
            ", ".join(spec.aliases) or "-",
            "yes" if spec.default else "no",
            spec.description,
        )
        for spec in sorted(manager.specs.values(), key=lambda s: s.name)
    ]
    print(table(("WORKER", "ALIASES", "DEFAULT", "DESCRIPTION"), workers))
    failed = [p for p in manager.plugins if p.error]
    return 1 if failed else 0


async def status(url: str, timeout_s: float) -> int:
    """Print the workers, functions and trigger types of a running engine; 1 if unreachable."""
    client = RawClient(url, timeout_s=timeout_s, name="iii-cli:status")
    try:
        await client.connect()
        workers = (await client.call("engine::workers::list", {})) or {}
        functions = (await client.call("engine::functions::list", {})) or {}
        triggers = (await client.call("engine::triggers::list", {})) or {}
    except (EngineUnreachable, WebSocketFailure) as exc:
        detail = "" if isinstance(exc, EngineUnreachable) else f": {exc}"
        print(f"Error: no engine answering at {url}{detail}", file=sys.stderr)
        return 1
    except InvocationError as exc:
        print(f"Error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await client.close()
    worker_rows = [
        (
            w.get("name") or "-",
            w.get("runtime") or "-",
            w.get("status"),
            w.get("function_count"),
            w.get("namespace"),
            w.get("id"),
        )
        for w in workers.get("workers", [])
        if w.get("name") != client.name  # this command's own connection
    ]
    print(f"engine at {url}\n")
    print(table(("WORKER", "RUNTIME", "STATUS", "FUNCTIONS", "NAMESPACE", "ID"), worker_rows))
    function_rows = [
        (f.get("function_id"), f.get("worker_name"), f.get("description") or "")
        for f in functions.get("functions", [])
    ]
    print()
    print(table(("FUNCTION", "WORKER", "DESCRIPTION"), function_rows))
    trigger_rows = [
        (t.get("id"), t.get("worker_name"), t.get("description") or "")
        for t in triggers.get("triggers", [])
    ]
    print()
    print(table(("TRIGGER TYPE", "WORKER", "DESCRIPTION"), trigger_rows))
    return 0
