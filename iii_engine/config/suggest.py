"""Suggestions for likely typos: function ids, worker names, config keys.

Uses :mod:`difflib` (close matches by similarity ratio). A worker name that upstream iii ships as
a built-in, but that no installed plugin provides yet, gets its own message instead of a
"did you mean" so it does not look like a typo. The list of such names is upstream's (the
spec's), minus whatever the plugin manager's registry resolves, so it shrinks by itself as
built-ins land.

Example::

    did_you_mean("math::ad", ["math::add", "state::get"])  # " (did you mean math::add?)"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from iii_engine.config.plugin_manager import PluginManager

__all__ = [
    "UPSTREAM_BUILTINS",
    "close_match",
    "did_you_mean",
    "unavailable_builtin",
    "unknown_worker_message",
]

UPSTREAM_BUILTINS: Final = {
    "iii-http": "http",
    "iii-state": "state",
    "iii-stream": "stream",
    "iii-pubsub": "pubsub",
    "iii-queue": "queue",
    "iii-cron": "cron",
    "iii-observability": None,
    "iii-http-functions": None,
    "iii-console": None,
    "iii-bridge": None,
}
"""Built-in worker names of upstream iii (with their short alias, when there is one)."""

_ENGINE_NAMES: Final = ("iii-worker-manager", "iii-engine-functions", "iii-exec")
_CUTOFF: Final = 0.6


def close_match(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (difflib ratio >= 0.6), or ``None``."""
    pool = sorted({c for c in candidates if c != word})
    found = difflib.get_close_matches(word, pool, n=1, cutoff=_CUTOFF)
    return found[0] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean X?)"`` for the closest candidate, else ``""``."""
    match = close_match(word, candidates)
    return f" (did you mean {match}?)" if match else ""


def _provided(plugins: PluginManager) -> set[str]:
    names: set[str] = set()
    for spec in plugins.specs.values():
        names.add(spec.name)
        names.update(spec.aliases)
    return names


def unavailable_builtin(name: str, plugins: PluginManager) -> str | None:
    """The canonical upstream name when ``name`` is an upstream built-in no plugin provides."""
    if plugins.resolve(name) is not None:
        return None
    for canonical, alias in UPSTREAM_BUILTINS.items():
        if name in (canonical, alias):
            return canonical
    return None


def unknown_worker_message(name: str, plugins: PluginManager) -> str:
    """Why ``name`` cannot run: not built in here yet, or an unknown name with a suggestion."""
    available = ", ".join(sorted(plugins.specs)) or "none"
    missing = unavailable_builtin(name, plugins)
    if missing is not None:
        return (
            f"{name!r} is an iii built-in that this engine does not provide yet "
            f"(available built-ins: {available}; a worker process needs `command:`)"
        )
    candidates = {*_provided(plugins), *_ENGINE_NAMES, *UPSTREAM_BUILTINS}
    match = close_match(name, candidates)
    hint = ""
    if match is not None:
        later = unavailable_builtin(match, plugins) is not None
        hint = f"; did you mean {match}?" + (" (not available in this engine yet)" if later else "")
    return (
        f"unknown worker {name!r}{hint} (built-in workers: {available}; "
        "a worker process needs `command:`)"
    )


def struct_keys(type_: object, where: str) -> list[str]:
    """The keys a msgspec Struct type accepts at ``where`` (``$.cors`` style, ``""`` = top).

    Follows Struct fields through optionals, unions and lists; ``[]`` when the path leads
    somewhere else (a dict, a scalar).
    """
    import msgspec.inspect as mi

    def structs(info: mi.Type) -> list[mi.StructType]:
        if isinstance(info, mi.StructType):
            return [info]
        if isinstance(info, mi.UnionType):
            return [s for t in info.types for s in structs(t)]
        if isinstance(info, mi.ListType | mi.SetType | mi.VarTupleType):
            return structs(info.item_type)
        return []

    current = structs(mi.type_info(type_))
    for part in [p for p in where.replace("[", ".[").split(".") if p and p != "$"]:
        if part.startswith("["):
            continue  # list indices: structs() already looked through lists
        current = [
            s
            for info in current
            for f in info.fields
            if f.encode_name == part
            for s in structs(f.type)
        ]
    return sorted({f.encode_name for info in current for f in info.fields})
