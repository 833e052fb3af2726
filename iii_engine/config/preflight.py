"""Checks a worker process entry can start at all: its program exists, its ``cwd`` exists.

``iii check-config`` reports these as errors; at run time the supervisor reports the same
reason when it marks the worker failed. Only what can be known without running anything is
checked: an ``iii-exec`` step is a shell command line, so only its ``cwd`` is.

Example::

    problem = process_problem(entry)  # ("workers[2].command", "'pyhton' is not on PATH ...")
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from iii_engine.config.schema import WorkerEntry

__all__ = ["process_problem"]


def process_problem(entry: WorkerEntry) -> tuple[str, str] | None:
    """``(key path, reason)`` when the entry's process cannot start, else ``None``."""
    cwd = entry.cwd
    if cwd is not None and not cwd.is_dir():
        return f"{entry.path}.cwd", f"directory {str(cwd)!r} does not exist"
    if entry.command is None:
        return None
    program = entry.command[0]
    path_var = entry.env.get("PATH", os.environ.get("PATH", os.defpath))
    if os.sep in program:
        target = Path(program)
        if not target.is_absolute():
            target = (cwd or Path.cwd()) / target
        if not target.is_file():
            return f"{entry.path}.command", f"{program!r} does not exist ({target})"
        if not os.access(target, os.X_OK):
            return f"{entry.path}.command", f"{program!r} is not executable ({target})"
        return None
    if shutil.which(program, path=path_var) is None:
        return (
            f"{entry.path}.command",
            f"{program!r} is not found on PATH (install it, or give its full path)",
        )
    return None
