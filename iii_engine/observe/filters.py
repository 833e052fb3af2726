"""The observe filter language: validation, evaluation and the normal form pushed to owners.

A filter is a JSON object over a *document* ``{input?, output?, error?, caller?, metadata?}``;
its members are ANDed. A member is ``"<path>": {operators}``, ``"$and": [filters]``,
``"$or": [filters]`` or ``"$not": filter``. The semantics (paths, operators, JSON equality,
limits) follow the official SDK's evaluator, so a filter matches the same events whether the
engine or an owner SDK evaluates it; ``docs/protocol-0.25.md`` describes them.

:func:`compile_filter` validates once and returns a predicate; evaluation never raises (a
runtime failure is "no match").
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from typing import Any

__all__ = ["ROOTS", "FilterError", "compile_filter", "normal_form", "roots_of"]

ROOTS = ("input", "output", "error", "caller", "metadata")
MAX_DEPTH = 8
MAX_NODES = 64
MAX_IN_ITEMS = 256
MAX_BYTES = 8192
MAX_SEGMENTS = 16
MAX_LITERAL_NESTING = 32
MAX_NESTING = 120
MAX_SAFE = 2**53

_ABSENT: Any = object()
Doc = dict[str, Any]
Pred = Callable[[Doc], bool]
ValuePred = Callable[[Any], bool]
_VALUE_OPS = {
    "$eq",
    "$ne",
    "$in",
    "$nin",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$exists",
    "$prefix",
    "$any",
}


class FilterError(ValueError):
    """The filter breaks the language; the message names the offending part."""


def compile_filter(spec: Any, *, trusted: bool = False) -> Pred:
    """Validate ``spec`` and return its predicate; ``trusted`` skips the size limit."""
    if not isinstance(spec, dict):
        raise FilterError("a filter is a JSON object")
    if not trusted:
        try:
            size = len(json.dumps(spec, ensure_ascii=False, separators=(",", ":")).encode())
        except (ValueError, UnicodeEncodeError) as exc:
            raise FilterError(f"filter is not valid JSON text: {exc}") from None
        if size > MAX_BYTES:
            raise FilterError(f"filter is {size} bytes; the limit is {MAX_BYTES}")
    _check_nesting(spec, 0, MAX_NESTING, "filter")
    compiler = _Compiler()
    return compiler.filter(spec, 1, "document")


def normal_form(spec: dict[str, Any]) -> dict[str, Any]:
    """``{}`` stays ``{}``; else ``{"$and": [...]}``, one item per top-level member."""
    if not spec:
        return {}
    items: list[Any] = []
    for key, value in spec.items():
        if key == "$and" and isinstance(value, list):
            items.extend(value)
        else:
            items.append({key: value})
    return {"$and": items}


def roots_of(spec: Any) -> set[str]:
    """The document roots a (valid) filter reads."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not key.startswith("$"):
                    found.add(key.split(".", 1)[0])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return found & set(ROOTS)


def _check_nesting(value: Any, level: int, limit: int, what: str) -> None:
    if isinstance(value, dict | list):
        if level + 1 > limit:
            raise FilterError(f"{what} nests deeper than {limit}")
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            _check_nesting(item, level + 1, limit, what)
    elif isinstance(value, str):
        _check_text(value)
    if isinstance(value, dict):
        for key in value:
            _check_text(key)


def _check_text(text: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError:
        raise FilterError("strings must be valid Unicode (no lone surrogates)") from None


def _check_literal(value: Any) -> None:
    _check_nesting(value, 0, MAX_LITERAL_NESTING, "a literal")
    _check_numbers(value)


def _check_numbers(value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) > MAX_SAFE:
            raise FilterError(f"number {value!r} is not finite within +-2^53")
    elif isinstance(value, dict):
        for item in value.values():
            _check_numbers(item)
    elif isinstance(value, list):
        for item in value:
            _check_numbers(item)


# --- paths ---------------------------------------------------------------------------------------


def parse_path(path: str, *, element: bool) -> tuple[str, list[str]]:
    """Split ``root.seg.seg`` (``\\.`` is a literal dot, ``\\\\`` a backslash)."""
    segments: list[str] = []
    current: list[str] = []
    escaped = False
    for char in path:
        if escaped:
            if char not in ".\\":
                raise FilterError(f"path {path!r}: invalid escape \\{char}")
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        raise FilterError(f"path {path!r} ends with a backslash")
    segments.append("".join(current))
    if any(not segment for segment in segments):
        raise FilterError(f"path {path!r} has an empty segment")
    root, rest = segments[0], segments[1:]
    if element:
        if root != "@":
            raise FilterError(f"path {path!r}: inside $any paths start with @")
    elif root not in ROOTS:
        raise FilterError(f"path {path!r}: the root must be one of {', '.join(ROOTS)}")
    if len(rest) > MAX_SEGMENTS:
        raise FilterError(f"path {path!r} has more than {MAX_SEGMENTS} segments")
    return root, rest


def _canonical_index(segment: str) -> int | None:
    if len(segment) > 15 or not segment.isascii() or not segment.isdigit():
        return None
    if segment != "0" and segment[0] == "0":
        return None
    return int(segment)


def _resolver(root: str, rest: list[str]) -> Callable[[Any], Any]:
    steps = [(segment, _canonical_index(segment)) for segment in rest]

    def resolve(start: Any) -> Any:
        value = start.get(root, _ABSENT) if root != "@" else start
        for key, index in steps:
            if isinstance(value, dict):
                value = value.get(key, _ABSENT)
            elif isinstance(value, list):
                if index is None or index >= len(value):
                    return _ABSENT
                value = value[index]
            else:
                return _ABSENT
        return value

    return resolve


# --- values --------------------------------------------------------------------------------------


def json_equals(a: Any, b: Any) -> bool:
    """JSON deep equality: numbers as doubles, bools never numbers, ordered arrays."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equals(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equals(a[k], b[k]) for k in a)
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


# --- the compiler --------------------------------------------------------------------------------


class _Compiler:
    def __init__(self) -> None:
        self.nodes = 0

    def _node(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FilterError(f"filter has more than {MAX_NODES} nodes")

    def filter(self, spec: Any, depth: int, where: str, *, element: bool = False) -> Pred:
        if not isinstance(spec, dict):
            raise FilterError(f"{where}: a filter is a JSON object")
        if depth > MAX_DEPTH:
            raise FilterError(f"filter nests deeper than {MAX_DEPTH}")
        preds: list[Pred] = []
        for key, value in spec.items():
            if key == "$and":
                preds.extend(self._list(value, depth, "$and", element))
            elif key == "$or":
                self._node()
                alternatives = self._list(value, depth + 1, "$or", element)
                preds.append(_any_of(alternatives))
            elif key == "$not":
                self._node()
                inner = self.filter(value, depth + 1, "$not", element=element)
                preds.append(_negate(inner))
            elif key.startswith("$"):
                if key in _VALUE_OPS:
                    raise FilterError(f"{key} needs a path")
                raise FilterError(f"unknown operator {key}")
            else:
                root, rest = parse_path(key, element=element)
                resolve = _resolver(root, rest)
                check = self.operators(value, depth, key)
                preds.append(_at(resolve, check))
        return lambda doc: all(p(doc) for p in preds)

    def _list(self, value: Any, depth: int, op: str, element: bool) -> list[Pred]:
        if not isinstance(value, list) or not value:
            raise FilterError(f"{op} takes a non-empty array of filters")
        return [self.filter(item, depth, op, element=element) for item in value]

    def operators(self, ops: Any, depth: int, path: str) -> ValuePred:
        if not isinstance(ops, dict) or not ops:
            raise FilterError(f"{path}: expected an object of operators such as {{'$eq': ...}}")
        checks: list[ValuePred] = []
        for op, operand in ops.items():
            if not op.startswith("$"):
                raise FilterError(f"{path}: {op!r} is not an operator")
            if op not in _VALUE_OPS:
                raise FilterError(f"{path}: unknown operator {op}")
            self._node()
            checks.append(self._operator(op, operand, depth, path))
        return lambda v: all(c(v) for c in checks)

    def _operator(self, op: str, operand: Any, depth: int, path: str) -> ValuePred:
        if op in ("$eq", "$ne"):
            _check_literal(operand)
            if op == "$eq":
                return lambda v: v is not _ABSENT and json_equals(v, operand)
            return lambda v: v is _ABSENT or not json_equals(v, operand)
        if op in ("$in", "$nin"):
            if not isinstance(operand, list) or len(operand) > MAX_IN_ITEMS:
                raise FilterError(f"{path}: {op} takes an array of at most {MAX_IN_ITEMS} items")
            for item in operand:
                _check_literal(item)
            if op == "$in":
                return lambda v: v is not _ABSENT and any(json_equals(v, x) for x in operand)
            return lambda v: v is _ABSENT or not any(json_equals(v, x) for x in operand)
        if op in ("$gt", "$gte", "$lt", "$lte"):
            return self._compare(op, operand, path)
        if op == "$exists":
            if not isinstance(operand, bool):
                raise FilterError(f"{path}: $exists takes true or false")
            return lambda v: (v is not _ABSENT) == operand
        if op == "$prefix":
            if not isinstance(operand, str):
                raise FilterError(f"{path}: $prefix takes a string")
            return lambda v: isinstance(v, str) and v.startswith(operand)
        return self._any(operand, depth, path)

    @staticmethod
    def _compare(op: str, operand: Any, path: str) -> ValuePred:
        if _is_number(operand):
            _check_numbers(operand)
            limit: Any = float(operand)
            kind: Callable[[Any], bool] = _is_number
        elif isinstance(operand, str):
            limit = operand
            kind = _is_str
        else:
            raise FilterError(f"{path}: {op} takes a number or a string")
        compare = _COMPARE[op]

        def check(v: Any) -> bool:
            if not kind(v):
                return False
            return compare(float(v) if _is_number(v) else v, limit)

        return check

    def _any(self, operand: Any, depth: int, path: str) -> ValuePred:
        if not isinstance(operand, dict):
            raise FilterError(f"{path}: $any takes an object")
        if depth + 1 > MAX_DEPTH:
            raise FilterError(f"filter nests deeper than {MAX_DEPTH}")
        if not operand:
            return lambda v: isinstance(v, list) and len(v) > 0
        if all(key in _VALUE_OPS for key in operand):
            check = self.operators(operand, depth + 1, f"{path}.$any")
            return lambda v: isinstance(v, list) and any(check(x) for x in v)
        inner = self.filter(operand, depth + 1, f"{path}.$any", element=True)
        return lambda v: isinstance(v, list) and any(inner(x) for x in v)


def _any_of(preds: list[Pred]) -> Pred:
    return lambda doc: any(p(doc) for p in preds)


def _negate(pred: Pred) -> Pred:
    return lambda doc: not pred(doc)


def _at(resolve: Callable[[Any], Any], check: ValuePred) -> Pred:
    return lambda doc: check(resolve(doc))


def safe(pred: Pred) -> Pred:
    """``pred`` where any runtime failure is "no match"."""

    def run(doc: Doc) -> bool:
        try:
            return pred(doc)
        except Exception:
            return False

    return run
