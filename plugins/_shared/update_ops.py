"""The update operations shared by ``state::update`` and ``stream::update``, as pure functions.

An op list is applied in order to a working copy of the stored value; a failing op leaves the
copy untouched and is reported, the others still apply::

    value, errors = apply_ops(MISSING, [SetOp(path="count", value=1), IncrementOp("count", 2)])
    # value == {"count": 3}, errors == []

``MISSING`` stands for "no stored value": a missing key is treated as ``{}`` except by root-level
``increment``/``decrement``/``append``, which start from nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final, TypeAlias

import msgspec

__all__ = [
    "DOC_URL",
    "MISSING",
    "AppendOp",
    "DecrementOp",
    "IncrementOp",
    "MergeOp",
    "RemoveOp",
    "SetOp",
    "UpdateOp",
    "apply_ops",
]

DOC_URL: Final = "https://iii.dev/docs/workers/iii-state#error-codes"
MAX_PATH_SEGMENTS: Final = 32
MAX_SEGMENT_BYTES: Final = 256
MAX_MERGE_KEYS: Final = 1024
MAX_MERGE_DEPTH: Final = 16
FORBIDDEN_KEYS: Final = frozenset({"__proto__", "constructor", "prototype"})
I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1
U64_MAX: Final = 2**64 - 1

Int64 = Annotated[int, msgspec.Meta(ge=I64_MIN, le=I64_MAX)]


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
"""No stored value (distinct from a stored JSON ``null``)."""


class SetOp(msgspec.Struct, tag_field="type", tag="set"):
    """Replace the whole value (``path=""``) or set one top-level field."""

    path: str
    value: Any = None


class MergeOp(msgspec.Struct, tag_field="type", tag="merge"):
    """Shallow-merge an object into the root or into the object at ``path`` (created)."""

    value: Any
    path: str | list[str] | None = None


class IncrementOp(msgspec.Struct, tag_field="type", tag="increment"):
    """Add ``by`` to the root number (``path=""``) or to a top-level numeric field."""

    path: str
    by: Int64


class DecrementOp(msgspec.Struct, tag_field="type", tag="decrement"):
    """Subtract ``by``; the mirror of :class:`IncrementOp`."""

    path: str
    by: Int64


class AppendOp(msgspec.Struct, tag_field="type", tag="append"):
    """Push onto an array or concatenate onto a string, at the root or at ``path``."""

    value: Any
    path: str | list[str] | None = None


class RemoveOp(msgspec.Struct, tag_field="type", tag="remove"):
    """Delete a top-level field, or set the whole value to ``null`` (``path=""``)."""

    path: str


UpdateOp: TypeAlias = SetOp | MergeOp | IncrementOp | DecrementOp | AppendOp | RemoveOp


class _OpFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def apply_ops(current: Any, ops: Sequence[UpdateOp]) -> tuple[Any, list[dict[str, Any]]]:
    """Apply ``ops`` to ``current`` (a value you own, or :data:`MISSING`); mutates it.

    The ops are left untouched, so the same list can be applied again (optimistic retries).

    Returns the new value (``{}`` if the key was missing and nothing set it) and the errors as
    ``{"op_index", "code", "message", "doc_url"}`` dicts.
    """
    errors: list[dict[str, Any]] = []
    for index, op in enumerate(ops):
        try:
            current = _HANDLERS[type(op)](current, op)
        except _OpFailed as failure:
            errors.append(
                {
                    "op_index": index,
                    "code": failure.code,
                    "message": failure.message,
                    "doc_url": DOC_URL,
                }
            )
    return ({} if current is MISSING else current), errors


# --- paths and validation ------------------------------------------------------------------------


def _segments(path: str | list[str] | None) -> list[str]:
    if path is None or path == "":
        return []
    if isinstance(path, str):
        return [path]
    return path


def _validate_path(segments: list[str], op: str) -> None:
    if len(segments) > MAX_PATH_SEGMENTS:
        raise _OpFailed(
            f"{op}.path.too_deep",
            f"path has {len(segments)} segments; the maximum is {MAX_PATH_SEGMENTS}",
        )
    for segment in segments:
        if segment == "":
            raise _OpFailed(f"{op}.path.empty_segment", "path contains an empty segment")
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise _OpFailed(
                f"{op}.path.segment_too_long",
                f"path segment is longer than {MAX_SEGMENT_BYTES} bytes",
            )
        if segment in FORBIDDEN_KEYS:
            raise _OpFailed(f"{op}.path.proto_polluted", f"path segment {segment!r} is forbidden")


def _validate_merge_value(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _OpFailed("merge.value.not_an_object", "merge value must be an object")
    if len(value) > MAX_MERGE_KEYS:
        raise _OpFailed(
            "merge.value.too_many_keys",
            f"merge value has {len(value)} keys; the maximum is {MAX_MERGE_KEYS}",
        )
    polluted = FORBIDDEN_KEYS.intersection(value)
    if polluted:
        raise _OpFailed("merge.value.proto_polluted", f"merge value has key {min(polluted)!r}")
    if _deeper_than(value, MAX_MERGE_DEPTH):
        raise _OpFailed(
            "merge.value.too_deep", f"merge value nests deeper than {MAX_MERGE_DEPTH} levels"
        )
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """True if objects/arrays nest more than ``limit`` levels (iterative: input is untrusted)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _clone(value: Any) -> Any:
    """A copy of a JSON value, so the result never aliases an op (ops may be applied again)."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    return value


def _object_root(current: Any, op: str) -> dict[str, Any]:
    if current is MISSING:
        return {}
    if isinstance(current, dict):
        return current
    raise _OpFailed(f"{op}.target_not_object", "the current value is not an object")


# --- the operations ------------------------------------------------------------------------------


def _set(current: Any, op: SetOp) -> Any:
    segments = _segments(op.path)
    _validate_path(segments, "set")
    if not segments:
        return _clone(op.value)
    root = _object_root(current, "set")
    root[segments[0]] = _clone(op.value)
    return root


def _merge(current: Any, op: MergeOp) -> Any:
    segments = _segments(op.path)
    _validate_path(segments, "merge")
    value = _clone(_validate_merge_value(op.value))
    if not segments:
        root = {} if current is MISSING else current
        if isinstance(root, dict):
            root.update(value)
        return root
    root = current if isinstance(current, dict) else {}
    node = root
    for segment in segments:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = node[segment] = {}
        node = child
    node.update(value)
    return root


def _add(number: Any, by: int, op: str) -> int | float:
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise _OpFailed(f"{op}.not_number", "the target value is not a number")
    result = number + by
    if isinstance(result, int) and not I64_MIN <= result <= U64_MAX:
        raise _OpFailed(f"{op}.not_number", "integer overflow")
    return result


def _step(current: Any, path: str, by: int, op: str) -> Any:
    segments = _segments(path)
    _validate_path(segments, op)
    if not segments:
        return by if current is MISSING or current is None else _add(current, by, op)
    root = _object_root(current, op)
    field = root.get(segments[0], MISSING)
    root[segments[0]] = by if field is MISSING else _add(field, by, op)
    return root


def _increment(current: Any, op: IncrementOp) -> Any:
    return _step(current, op.path, op.by, "increment")


def _decrement(current: Any, op: DecrementOp) -> Any:
    return _step(current, op.path, -op.by, "decrement")


def _appended(target: Any, value: Any, *, nested: bool) -> Any:
    if target is MISSING or target is None:
        return value if isinstance(value, str) and not nested else [value]
    if isinstance(target, list):
        target.append(value)
        return target
    if isinstance(target, str):
        if isinstance(value, str):
            return target + value
        raise _OpFailed("append.type_mismatch", "only a string can be appended to a string")
    raise _OpFailed("append.type_mismatch", "the target is neither an array nor a string")


def _append(current: Any, op: AppendOp) -> Any:
    segments = _segments(op.path)
    _validate_path(segments, "append")
    if not segments:
        return _appended(current, _clone(op.value), nested=False)
    root = _object_root(current, "append")
    *parents, leaf = segments
    node: Any = root
    for segment in parents:
        node = node.get(segment)
        if not isinstance(node, dict):
            break  # missing or not an object: replaced by {} below, so the leaf is missing
    target = node.get(leaf, MISSING) if isinstance(node, dict) else MISSING
    # Computed before any parent changes so a failed op leaves the value untouched.
    new_leaf = _appended(target, _clone(op.value), nested=bool(parents))
    node = root
    for segment in parents:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = node[segment] = {}
        node = child
    node[leaf] = new_leaf
    return root


def _remove(current: Any, op: RemoveOp) -> Any:
    segments = _segments(op.path)
    _validate_path(segments, "remove")
    if not segments:
        return None
    root = _object_root(current, "remove")
    root.pop(segments[0], None)
    return root


_HANDLERS: dict[type[Any], Callable[[Any, Any], Any]] = {
    SetOp: _set,
    MergeOp: _merge,
    IncrementOp: _increment,
    DecrementOp: _decrement,
    AppendOp: _append,
    RemoveOp: _remove,
}
