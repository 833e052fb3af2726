"""The route table: static paths in a dict, parameterised paths in a trie per method.

Lookup cost depends on the number of path segments, never on the number of routes. A static
segment beats a parameter at the same depth (with backtracking when the static branch dead-ends),
which is the priority upstream's router (matchit) applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ROUTABLE_METHODS", "Route", "RouteConflictError", "RouteTable", "normalize_path"]

ROUTABLE_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})


class RouteConflictError(ValueError):
    """Two routes with the same structure but different parameter names."""


def normalize_path(path: str) -> str:
    """Drop one leading ``/`` (``/`` itself stays ``/``): ``/a/b`` and ``a/b`` are one route."""
    if path.startswith("/") and path != "/":
        return path[1:]
    return path


@dataclass(eq=False, slots=True)
class Route:
    """A registered route; ``value`` is whatever the owner serves it with."""

    method: str
    path: str
    """The template exactly as registered (``api_path``)."""
    key: str
    """``<METHOD>:<normalised path>``."""
    owner: str
    """The trigger id that registered it; only that owner can remove it."""
    value: Any
    params: tuple[tuple[int, str], ...] = ()
    """(segment index, name) of each ``:param`` segment."""


@dataclass(eq=False, slots=True)
class _Node:
    static: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    route: Route | None = None


def _match(node: _Node, segments: list[str], i: int) -> Route | None:
    if i == len(segments):
        return node.route
    seg = segments[i]
    child = node.static.get(seg)
    if child is not None:
        found = _match(child, segments, i + 1)
        if found is not None:
            return found
    if node.param is not None and seg:
        return _match(node.param, segments, i + 1)
    return None


class RouteTable:
    """Routes by method and path; see the module docstring for matching rules."""

    def __init__(self) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._tries: dict[str, _Node] = {}
        self._shapes: dict[tuple[str, str], Route] = {}

    def __len__(self) -> int:
        return len(self._shapes)

    def add(self, method: str, path: str, owner: str, value: Any) -> Route:
        """Add or replace the route for ``method`` + ``path``.

        Raises :class:`RouteConflictError` when a route of the same shape but different
        parameter names exists; the existing route keeps serving.
        """
        method = method.upper()
        norm = normalize_path(path)
        segments = norm.split("/")
        params = tuple((i, s[1:]) for i, s in enumerate(segments) if s.startswith(":"))
        shape = "/".join(":" if s.startswith(":") else s for s in segments)
        route = Route(method, path, f"{method}:{norm}", owner, value, params)
        existing = self._shapes.get((method, shape))
        if existing is not None and existing.key != route.key:
            raise RouteConflictError(
                f"Route '{method} {norm}' conflicts with already-registered route "
                f"'{method} {normalize_path(existing.path)}': routes with identical structure "
                "but different path-parameter names are not supported"
            )
        self._shapes[(method, shape)] = route
        if not params:
            self._static.setdefault(method, {})[norm] = route
            return route
        node = self._tries.setdefault(method, _Node())
        for seg in segments:
            if seg.startswith(":"):
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                node = node.static.setdefault(seg, _Node())
        node.route = route
        return route

    def remove(self, method: str, path: str, owner: str) -> bool:
        """Remove the route if ``owner`` still owns it; return whether it was removed."""
        method = method.upper()
        norm = normalize_path(path)
        segments = norm.split("/")
        shape = "/".join(":" if s.startswith(":") else s for s in segments)
        existing = self._shapes.get((method, shape))
        if existing is None or existing.owner != owner or existing.key != f"{method}:{norm}":
            return False
        del self._shapes[(method, shape)]
        if not existing.params:
            del self._static[method][norm]
            return True
        self._prune(self._tries[method], segments, 0)
        return True

    def _prune(self, node: _Node, segments: list[str], i: int) -> bool:
        """Clear the route at the end of ``segments``; drop nodes left empty. True if empty."""
        if i == len(segments):
            node.route = None
        else:
            seg = segments[i]
            if seg.startswith(":"):
                if node.param is not None and self._prune(node.param, segments, i + 1):
                    node.param = None
            else:
                child = node.static.get(seg)
                if child is not None and self._prune(child, segments, i + 1):
                    del node.static[seg]
        return node.route is None and node.param is None and not node.static

    def lookup(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The route serving ``method`` on ``raw_path`` and its raw path parameters."""
        norm = normalize_path(raw_path)
        table = self._static.get(method)
        if table is not None:
            route = table.get(norm)
            if route is not None:
                return route, {}
        trie = self._tries.get(method)
        if trie is None:
            return None
        segments = norm.split("/")
        route = _match(trie, segments, 0)
        if route is None:
            return None
        return route, {name: segments[i] for i, name in route.params}

    def other_methods(self, method: str, raw_path: str) -> list[str]:
        """The other methods serving ``raw_path`` (non-empty: answer 405 rather than 404)."""
        methods = self._static.keys() | self._tries.keys()
        return [m for m in methods if m != method and self.lookup(m, raw_path) is not None]
