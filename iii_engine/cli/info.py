"""The informational subcommands ``check-config`` and ``plugins`` (``status``: status.py)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from iii_engine.access.listener_access import check_managers
from iii_engine.config.plan import make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.preflight import process_problem
from iii_engine.config.schema import load_config
from iii_sdk.errors import ConfigError

__all__ = ["check_config", "list_plugins", "plural", "table"]


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
    problems = [p for e in config.workers if e.is_process for p in [process_problem(e)] if p]
    for where, reason in problems:
        print(f"Error: {where}: {reason}", file=sys.stderr)
    if problems:
        return 1
    names = ", ".join(e.instance_id for e in config.workers) or "(none)"
    print(f"{path}: OK ({plural(len(config.workers), 'worker')}: {names})")
    return 0


def plural(count: int, noun: str) -> str:
    """``1 worker``, ``2 workers``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


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
