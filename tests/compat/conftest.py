"""Compat tests: every test here drives an official iii SDK (helpers in ``support.py``)."""

from __future__ import annotations

from tests.compat.procs import node, py_worker, spawn
from tests.compat.support import builtin_engine, official, thread_event

__all__ = ["builtin_engine", "node", "official", "py_worker", "spawn", "thread_event"]
