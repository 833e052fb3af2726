"""The live function registry, keyed by ``(namespace, function_id)``.

A function is either *remote* (owned by a worker connection, invoked over its socket) or
*local* (an in-process handler of a built-in worker). Remote functions follow upstream's
ownership rule: the first live owner wins and a second live worker is rejected; in-process
functions belong to the engine or a built-in worker, and a worker can neither replace nor
remove them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

from iii_sdk.handlers import AsyncHandler

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = ["DEFAULT_NAMESPACE", "FunctionEntry", "FunctionRegistry"]

DEFAULT_NAMESPACE = "default"


@dataclass(slots=True, eq=False)
class FunctionEntry:
    """One registered function."""

    function_id: str
    namespace: str
    owner: Peer | None = None
    handler: AsyncHandler | None = None
    worker_name: str | None = None
    description: str | None = None
    request_format: Raw | UnsetType = UNSET
    response_format: Raw | UnsetType = UNSET
    metadata: Raw | UnsetType = UNSET
    extra: dict[str, Any] = field(default_factory=dict)
    observers: Any = None
    """The source's observer set while it has observers (see iii_engine.observe)."""
    immediate: Callable[[Raw], Any] | None = None
    """The plugin's :func:`iii_sdk.handlers.immediate` handler: the router calls it on the
    spot for workers' calls (``handler`` is its adapted form for everyone else)."""
    _middle: bytes | None = None
    _result_middle: bytes | None = None

    @property
    def delivered_id(self) -> str:
        """The id invocations carry to the owner (without a registration prefix)."""
        delivered: str = self.extra.get("delivered_as", self.function_id)
        return delivered

    def frame_middle(self) -> bytes:
        """The bytes between the invocation id and the data of an ``invokefunction`` frame."""
        middle = self._middle
        if middle is None:
            middle = b'","function_id":' + msgspec.json.encode(self.delivered_id) + b',"data":'
            self._middle = middle
        return middle

    def result_middle(self) -> bytes:
        """The bytes between the invocation id and the result of this function's
        ``invocationresult`` frame (the engine answering for an in-process function)."""
        middle = self._result_middle
        if middle is None:
            middle = b'","function_id":' + msgspec.json.encode(self.function_id) + b',"result":'
            self._result_middle = middle
        return middle


class FunctionRegistry:
    """Functions by namespace then id; lookups are two dict gets."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, dict[str, FunctionEntry]] = {}
        self.observed: dict[tuple[str, str], Any] = {}
        """Observer sets by source key, hung on the entry registered under that key."""
        self.listener: Callable[[str, str], None] | None = None
        """Called after a function was put or removed (the observe hub)."""

    def get(self, namespace: str, function_id: str) -> FunctionEntry | None:
        """The entry registered under ``(namespace, function_id)``, if any."""
        functions = self._by_namespace.get(namespace)
        return None if functions is None else functions.get(function_id)

    def put(self, entry: FunctionEntry) -> FunctionEntry | None:
        """Insert or replace; returns the replaced entry."""
        functions = self._by_namespace.setdefault(entry.namespace, {})
        previous = functions.get(entry.function_id)
        functions[entry.function_id] = entry
        if self.listener is not None:
            entry.observers = self.observed.get((entry.namespace, entry.function_id))
            self.listener(entry.namespace, entry.function_id)
        return previous

    def remove(
        self, namespace: str, function_id: str, *, only: FunctionEntry | None = None
    ) -> bool:
        """Remove a function; with ``only``, only if that exact entry is still registered."""
        functions = self._by_namespace.get(namespace)
        if functions is None:
            return False
        current = functions.get(function_id)
        if current is None or (only is not None and current is not only):
            return False
        del functions[function_id]
        if not functions:
            del self._by_namespace[namespace]
        if self.listener is not None:
            self.listener(namespace, function_id)
        return True

    def namespaces_of(self, function_id: str) -> list[str]:
        """Every namespace in which ``function_id`` is registered, sorted."""
        return sorted(ns for ns, fns in self._by_namespace.items() if function_id in fns)

    def all(self) -> list[FunctionEntry]:
        """Every entry (unsorted)."""
        return [entry for fns in self._by_namespace.values() for entry in fns.values()]

    def keys(self) -> frozenset[tuple[str, str]]:
        """The set of ``(namespace, function_id)`` keys."""
        return frozenset((ns, fid) for ns, fns in self._by_namespace.items() for fid in fns)

    def __len__(self) -> int:
        return sum(len(fns) for fns in self._by_namespace.values())
