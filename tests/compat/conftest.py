"""Compat tests: every test here drives an official iii SDK (fixtures live in ``support.py``)."""

from __future__ import annotations

from tests.compat.support import builtin_engine, node, official, py_worker, spawn, thread_event

__all__ = ["builtin_engine", "node", "official", "py_worker", "spawn", "thread_event"]
