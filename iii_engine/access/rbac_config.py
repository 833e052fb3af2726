"""The ``rbac`` block of an ``iii-worker-manager`` listener, validated with key paths.

::

    rbac:
      auth_function_id: auth::check
      on_function_registration_function_id: hooks::on-function   # optional hooks
      expose_functions:
        - match("public::*")                    # a glob on the id, namespace default
        - {match: "reports::*", namespace: team-a}
        - {metadata: {public: true}}            # every metadata key must match

Every malformed value raises :class:`~iii_sdk.errors.ConfigError` naming its key path
(``workers[1].config.rbac.expose_functions[2].metadata``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from iii_engine.access.patterns import Pattern, compile_glob, match_argument
from iii_sdk.errors import ConfigError

__all__ = ["DEFAULT_NAMESPACE", "ExposeFilter", "RbacConfig", "parse_rbac"]

DEFAULT_NAMESPACE: Final = "default"
_HOOK_KEYS: Final = (
    "auth_function_id",
    "on_function_registration_function_id",
    "on_trigger_registration_function_id",
    "on_trigger_type_registration_function_id",
)
_KEYS: Final = (*_HOOK_KEYS, "expose_functions")


@dataclass(frozen=True)
class ExposeFilter:
    """One ``expose_functions`` entry: an id pattern or metadata conditions, in one namespace."""

    namespace: str
    pattern: Pattern | None = None
    metadata: tuple[tuple[str, Any], ...] = ()
    """``(key, expected)``; ``expected`` is a compiled glob for ``match("...")`` strings."""

    def matches(self, function_id: str, namespace: str, metadata: Any) -> bool:
        """True when the function is exposed by this filter."""
        if namespace != self.namespace:
            return False
        if self.pattern is not None:
            return self.pattern.matches(function_id)
        if not isinstance(metadata, dict):
            return False
        for key, expected in self.metadata:
            if key not in metadata:
                return False
            actual = metadata[key]
            if isinstance(expected, _Glob):
                if not isinstance(actual, str) or expected.regex.fullmatch(actual) is None:
                    return False
            elif not _json_equal(actual, expected):
                return False
        return True


class _Glob:
    __slots__ = ("regex",)

    def __init__(self, pattern: str) -> None:
        self.regex = compile_glob(pattern)


@dataclass(frozen=True)
class RbacConfig:
    """A listener's access policy (``rbac`` present) and its middleware."""

    auth_function_id: str | None = None
    on_function_registration_function_id: str | None = None
    on_trigger_registration_function_id: str | None = None
    on_trigger_type_registration_function_id: str | None = None
    expose_functions: tuple[ExposeFilter, ...] = field(default=())

    def exposes(self, function_id: str, namespace: str, metadata: Any) -> bool:
        """True when any ``expose_functions`` filter matches."""
        return any(f.matches(function_id, namespace, metadata) for f in self.expose_functions)


def parse_rbac(block: Any, path: str) -> RbacConfig | None:
    """Validate a raw ``rbac`` block (None when absent); errors name ``path`` and the key."""
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ConfigError("expected a mapping", path)
    for key in block:
        if key not in _KEYS:
            raise ConfigError(f"unknown key (allowed: {', '.join(_KEYS)})", f"{path}.{key}")
    hooks: dict[str, str | None] = {}
    for key in _HOOK_KEYS:
        value = block.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError("expected a non-empty function id", f"{path}.{key}")
        hooks[key] = value
    raw_filters = block.get("expose_functions")
    if raw_filters is None:
        raw_filters = []
    if not isinstance(raw_filters, list):
        raise ConfigError("expected a list of filters", f"{path}.expose_functions")
    filters = tuple(
        _parse_filter(item, f"{path}.expose_functions[{i}]") for i, item in enumerate(raw_filters)
    )
    return RbacConfig(expose_functions=filters, **hooks)


def _parse_filter(raw: Any, path: str) -> ExposeFilter:
    if isinstance(raw, str):
        inner = match_argument(raw)
        if inner is None:
            raise ConfigError(f'expected match("pattern") or a mapping, got {raw!r}', path)
        return ExposeFilter(DEFAULT_NAMESPACE, pattern=Pattern(raw))
    if not isinstance(raw, dict):
        raise ConfigError('expected match("pattern") or a mapping', path)
    for key in raw:
        if key not in ("match", "metadata", "namespace"):
            raise ConfigError("unknown key (allowed: match, metadata, namespace)", f"{path}.{key}")
    namespace = raw.get("namespace", DEFAULT_NAMESPACE)
    if not isinstance(namespace, str) or not namespace.strip():
        raise ConfigError("expected a non-empty namespace", f"{path}.namespace")
    has_match, has_metadata = "match" in raw, "metadata" in raw
    if has_match == has_metadata:
        raise ConfigError("a filter needs exactly one of match or metadata", path)
    if has_match:
        pattern = raw["match"]
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError("expected a non-empty pattern string", f"{path}.match")
        inner = match_argument(pattern)
        return ExposeFilter(namespace, pattern=Pattern(pattern if inner is None else inner))
    metadata = raw["metadata"]
    if not isinstance(metadata, dict) or not metadata:
        raise ConfigError("expected a non-empty mapping", f"{path}.metadata")
    conditions: list[tuple[str, Any]] = []
    for key, value in metadata.items():
        inner = match_argument(value) if isinstance(value, str) else None
        conditions.append((str(key), value if inner is None else _Glob(inner)))
    return ExposeFilter(namespace, metadata=tuple(conditions))


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python's ``True == 1`` is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
