"""Unit tests of the pure update operations."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from plugins._shared.update_ops import (
    DOC_URL,
    MISSING,
    AppendOp,
    DecrementOp,
    IncrementOp,
    MergeOp,
    RemoveOp,
    SetOp,
    UpdateOp,
    apply_ops,
)


def ops(*raw: dict[str, Any]) -> list[UpdateOp]:
    """Decode ops exactly as ``state::update`` does."""
    return msgspec.convert(list(raw), list[UpdateOp])


def run(current: Any, *raw: dict[str, Any]) -> tuple[Any, list[str]]:
    value, errors = apply_ops(current, ops(*raw))
    return value, [e["code"] for e in errors]


# --- decoding --------


def test_ops_decode_by_lowercase_type_tag_and_ignore_unknown_keys() -> None:
    decoded = ops(
        {"type": "set", "path": "a", "value": 1, "extra": True},
        {"type": "merge", "value": {}},
        {"type": "increment", "path": "n", "by": 2},
        {"type": "decrement", "path": "n", "by": 3},
        {"type": "append", "path": ["x", "y"], "value": "v"},
        {"type": "remove", "path": "a"},
    )
    assert decoded == [
        SetOp("a", 1),
        MergeOp({}),
        IncrementOp("n", 2),
        DecrementOp("n", 3),
        AppendOp("v", ["x", "y"]),
        RemoveOp("a"),
    ]


def test_set_value_is_optional_and_defaults_to_null() -> None:
    assert ops({"type": "set", "path": "a"}) == [SetOp("a", None)]


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "SET", "path": "a"},
        {"type": "nope", "path": "a"},
        {"path": "a"},
        {"type": "increment", "path": "n", "by": 1.5},
        {"type": "increment", "path": "n", "by": "1"},
        {"type": "increment", "path": "n", "by": 2**63},
        {"type": "increment", "path": "n"},
        {"type": "set", "value": 1},
        {"type": "remove"},
        {"type": "merge", "path": "a"},
        {"type": "append", "path": 3, "value": 1},
    ],
)
def test_invalid_ops_fail_to_decode(raw: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        ops(raw)


# --- set --------


def test_set_field_keeps_other_fields() -> None:
    assert run({"a": 1, "b": 2}, {"type": "set", "path": "a", "value": 5}) == (
        {"a": 5, "b": 2},
        [],
    )


def test_set_on_missing_key_starts_from_empty_object() -> None:
    assert run(MISSING, {"type": "set", "path": "count", "value": 5}) == ({"count": 5}, [])


def test_set_empty_path_replaces_the_whole_value() -> None:
    assert run({"a": 1}, {"type": "set", "path": "", "value": [1, 2]}) == ([1, 2], [])
    assert run(MISSING, {"type": "set", "path": ""}) == (None, [])


def test_set_dotted_path_is_a_literal_top_level_field() -> None:
    assert run({}, {"type": "set", "path": "a.b", "value": 1}) == ({"a.b": 1}, [])


@pytest.mark.parametrize("root", [[1], "s", 3, None, True])
def test_set_field_on_non_object_fails(root: Any) -> None:
    assert run(root, {"type": "set", "path": "a", "value": 1}) == (root, ["set.target_not_object"])


# --- merge --------


@pytest.mark.parametrize("path", [None, "", []])
def test_merge_without_path_shallow_merges_into_root(path: Any) -> None:
    op: dict[str, Any] = {"type": "merge", "value": {"b": {"x": 1}, "c": 3}}
    if path is not None:
        op["path"] = path
    assert run({"a": 1, "b": {"y": 2}}, op) == ({"a": 1, "b": {"x": 1}, "c": 3}, [])


def test_merge_without_path_on_missing_key_creates_object() -> None:
    assert run(MISSING, {"type": "merge", "value": {"a": 1}}) == ({"a": 1}, [])


@pytest.mark.parametrize("root", [[1], "s", 7, None])
def test_merge_without_path_on_non_object_root_is_silently_ignored(root: Any) -> None:
    assert run(root, {"type": "merge", "value": {"a": 1}}) == (root, [])


def test_merge_string_path_equals_single_segment() -> None:
    a = run({}, {"type": "merge", "path": "s", "value": {"a": 1}})
    b = run({}, {"type": "merge", "path": ["s"], "value": {"a": 1}})
    assert a == b == ({"s": {"a": 1}}, [])


def test_two_merges_into_a_session_path() -> None:
    value, errors = apply_ops(
        {},
        ops(
            {"type": "merge", "path": "session-abc", "value": {"author": "alice"}},
            {"type": "merge", "path": "session-abc", "value": {"ts": "chunk"}},
        ),
    )
    assert value == {"session-abc": {"author": "alice", "ts": "chunk"}}
    assert errors == []


def test_merge_nested_path_creates_and_replaces_non_object_intermediates() -> None:
    current = {"a": {"b": 5, "keep": 1}, "z": 0}
    value, codes = run(current, {"type": "merge", "path": ["a", "b", "c"], "value": {"k": "v"}})
    assert value == {"a": {"b": {"c": {"k": "v"}}, "keep": 1}, "z": 0}
    assert codes == []


def test_merge_segments_with_dots_are_literal() -> None:
    assert run({}, {"type": "merge", "path": ["a.b"], "value": {"k": 1}}) == (
        {"a.b": {"k": 1}},
        [],
    )


@pytest.mark.parametrize("root", [[1], "s", None, MISSING])
def test_merge_with_path_replaces_non_object_root(root: Any) -> None:
    assert run(root, {"type": "merge", "path": "p", "value": {"a": 1}}) == ({"p": {"a": 1}}, [])


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ([1], "merge.value.not_an_object"),
        ("s", "merge.value.not_an_object"),
        (None, "merge.value.not_an_object"),
        ({f"k{i}": i for i in range(1025)}, "merge.value.too_many_keys"),
        ({"__proto__": {}}, "merge.value.proto_polluted"),
        ({"constructor": 1}, "merge.value.proto_polluted"),
        ({"prototype": 1}, "merge.value.proto_polluted"),
    ],
)
def test_merge_value_validation(value: Any, code: str) -> None:
    assert run({"a": 1}, {"type": "merge", "value": value}) == ({"a": 1}, [code])


def _nested(depth: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(depth):
        value = {"n": value}
    assert isinstance(value, dict)
    return value


def test_merge_value_depth_limit_counts_objects_and_arrays() -> None:
    assert run({}, {"type": "merge", "value": _nested(16)})[1] == []
    assert run({}, {"type": "merge", "value": _nested(17)})[1] == ["merge.value.too_deep"]
    arrays: dict[str, Any] = {"a": [[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}  # 1 object + 15 arrays
    assert run({}, {"type": "merge", "value": arrays})[1] == []
    assert run({}, {"type": "merge", "value": {"a": [arrays]}})[1] == ["merge.value.too_deep"]


def test_merge_exactly_1024_keys_is_allowed() -> None:
    value = {f"k{i}": i for i in range(1024)}
    assert run({}, {"type": "merge", "value": value}) == (value, [])


# --- path validation (every op) --------


@pytest.mark.parametrize("op", ["set", "increment", "decrement", "remove"])
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("__proto__", "proto_polluted"),
        ("constructor", "proto_polluted"),
        ("prototype", "proto_polluted"),
        ("x" * 257, "segment_too_long"),
        ("é" * 129, "segment_too_long"),
    ],
)
def test_string_path_validation(op: str, path: str, reason: str) -> None:
    raw: dict[str, Any] = {"type": op, "path": path, "value": 1, "by": 1}
    assert run({"a": 1}, raw) == ({"a": 1}, [f"{op}.path.{reason}"])


@pytest.mark.parametrize("op", ["set", "increment", "remove"])
def test_segment_of_256_bytes_is_allowed(op: str) -> None:
    raw: dict[str, Any] = {"type": op, "path": "x" * 256, "value": 1, "by": 1}
    assert run({}, raw)[1] == []


@pytest.mark.parametrize("op", ["merge", "append"])
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (["s"] * 33, "too_deep"),
        (["a", ""], "empty_segment"),
        ([""], "empty_segment"),
        (["a", "x" * 257], "segment_too_long"),
        (["a", "__proto__"], "proto_polluted"),
        ("constructor", "proto_polluted"),
    ],
)
def test_segment_path_validation(op: str, path: Any, reason: str) -> None:
    raw = {"type": op, "path": path, "value": {"v": 1}}
    assert run({"a": 1}, raw) == ({"a": 1}, [f"{op}.path.{reason}"])


@pytest.mark.parametrize("op", ["merge", "append"])
def test_32_segments_are_allowed(op: str) -> None:
    assert run({}, {"type": op, "path": ["s"] * 32, "value": {"v": 1}})[1] == []


# --- increment / decrement --------


@pytest.mark.parametrize(
    ("current", "op", "expected"),
    [
        ({"n": 5}, "increment", {"n": 7}),
        ({"n": 5}, "decrement", {"n": 3}),
        ({}, "increment", {"n": 2}),
        ({}, "decrement", {"n": -2}),
        (MISSING, "increment", {"n": 2}),
        (MISSING, "decrement", {"n": -2}),
        ({"n": 1.5}, "increment", {"n": 3.5}),
        ({"n": 1.5}, "decrement", {"n": -0.5}),
    ],
)
def test_field_arithmetic(current: Any, op: str, expected: Any) -> None:
    assert run(current, {"type": op, "path": "n", "by": 2}) == (expected, [])


def test_integer_arithmetic_stays_integer_and_float_stays_float() -> None:
    value, _ = run({"i": 1, "f": 1.0}, {"type": "increment", "path": "i", "by": 1})
    assert type(value["i"]) is int
    value, _ = run({"i": 1, "f": 1.0}, {"type": "increment", "path": "f", "by": 1})
    assert type(value["f"]) is float and value["f"] == 2.0


@pytest.mark.parametrize(
    ("current", "op", "expected"),
    [
        (10, "increment", 13),
        (10, "decrement", 7),
        (MISSING, "increment", 3),
        (MISSING, "decrement", -3),
        (None, "increment", 3),
        (0.5, "increment", 3.5),
    ],
)
def test_root_arithmetic(current: Any, op: str, expected: Any) -> None:
    assert run(current, {"type": op, "path": "", "by": 3}) == (expected, [])


@pytest.mark.parametrize("op", ["increment", "decrement"])
@pytest.mark.parametrize("field", ["s", True, None, [1], {"x": 1}])
def test_non_number_field_fails(op: str, field: Any) -> None:
    assert run({"n": field}, {"type": op, "path": "n", "by": 1}) == (
        {"n": field},
        [f"{op}.not_number"],
    )


@pytest.mark.parametrize("op", ["increment", "decrement"])
@pytest.mark.parametrize("root", [{"a": 1}, "s", [1], False])
def test_non_number_root_fails(op: str, root: Any) -> None:
    assert run(root, {"type": op, "path": "", "by": 1}) == (root, [f"{op}.not_number"])


@pytest.mark.parametrize("op", ["increment", "decrement"])
@pytest.mark.parametrize("root", ["s", [1], 4, None])
def test_field_arithmetic_on_non_object_root_fails(op: str, root: Any) -> None:
    assert run(root, {"type": op, "path": "n", "by": 1}) == (root, [f"{op}.target_not_object"])


def test_integer_overflow_is_reported_and_value_unchanged() -> None:
    u64_max = 2**64 - 1
    assert run({"n": u64_max}, {"type": "increment", "path": "n", "by": 1}) == (
        {"n": u64_max},
        ["increment.not_number"],
    )
    i64_min = -(2**63)
    assert run({"n": i64_min}, {"type": "decrement", "path": "n", "by": 1}) == (
        {"n": i64_min},
        ["decrement.not_number"],
    )
    assert run({"n": 2**63 - 1}, {"type": "increment", "path": "n", "by": 1}) == (
        {"n": 2**63},
        [],
    )


# --- append --------


@pytest.mark.parametrize(
    ("current", "value", "expected"),
    [
        (MISSING, "a", "a"),
        (MISSING, 1, [1]),
        (MISSING, [1], [[1]]),
        (None, "a", "a"),
        (None, {"k": 1}, [{"k": 1}]),
        ([1], 2, [1, 2]),
        ([1], [2], [1, [2]]),
        ("ab", "cd", "abcd"),
    ],
)
def test_append_at_root(current: Any, value: Any, expected: Any) -> None:
    assert run(current, {"type": "append", "value": value}) == (expected, [])
    if current is not MISSING and not isinstance(current, list):
        assert run(current, {"type": "append", "path": "", "value": value}) == (expected, [])


@pytest.mark.parametrize(
    ("current", "value"), [("ab", 1), ("ab", ["x"]), ({"a": 1}, "x"), (3, 1), (True, "x")]
)
def test_append_at_root_type_mismatch(current: Any, value: Any) -> None:
    assert run(current, {"type": "append", "value": value}) == (current, ["append.type_mismatch"])


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (MISSING, "a", "a"),
        (MISSING, 1, [1]),
        (None, "a", "a"),
        (None, 1, [1]),
        (["x"], "y", ["x", "y"]),
        ("x", "y", "xy"),
    ],
)
def test_append_single_segment(field: Any, value: Any, expected: Any) -> None:
    current: dict[str, Any] = {"other": 0}
    if field is not MISSING:
        current["f"] = field
    for path in ("f", ["f"]):
        start = msgspec.json.decode(msgspec.json.encode(current))
        assert run(start, {"type": "append", "path": path, "value": value}) == (
            {"other": 0, "f": expected},
            [],
        )


@pytest.mark.parametrize(("field", "value"), [("x", 1), (1, "y"), ({"k": 1}, "y"), (False, 1)])
def test_append_single_segment_type_mismatch(field: Any, value: Any) -> None:
    assert run({"f": field}, {"type": "append", "path": "f", "value": value}) == (
        {"f": field},
        ["append.type_mismatch"],
    )


def test_append_single_segment_on_missing_key_creates_object() -> None:
    assert run(MISSING, {"type": "append", "path": "log", "value": "x"}) == ({"log": "x"}, [])


def test_append_nested_path_creates_parents_and_a_missing_leaf_is_always_an_array() -> None:
    assert run({}, {"type": "append", "path": ["a", "b"], "value": "x"}) == (
        {"a": {"b": ["x"]}},
        [],
    )
    assert run({"a": {"b": ["x"]}}, {"type": "append", "path": ["a", "b"], "value": "y"}) == (
        {"a": {"b": ["x", "y"]}},
        [],
    )
    assert run({"a": {"b": "x"}}, {"type": "append", "path": ["a", "b"], "value": "y"}) == (
        {"a": {"b": "xy"}},
        [],
    )


def test_append_nested_failure_leaves_the_value_unchanged() -> None:
    current = {"a": {"b": 1}}
    assert run(current, {"type": "append", "path": ["a", "b"], "value": "y"}) == (
        {"a": {"b": 1}},
        ["append.type_mismatch"],
    )


@pytest.mark.parametrize("intermediate", [5, "s", [1], None])
def test_append_nested_replaces_non_object_intermediates(intermediate: Any) -> None:
    current = {"a": intermediate, "keep": 1}
    assert run(current, {"type": "append", "path": ["a", "b", "c"], "value": "y"}) == (
        {"a": {"b": {"c": ["y"]}}, "keep": 1},
        [],
    )


@pytest.mark.parametrize("root", ["s", [1], 2, None])
def test_append_with_path_on_non_object_root_fails(root: Any) -> None:
    for path in ("f", ["f", "g"]):
        assert run(root, {"type": "append", "path": path, "value": 1}) == (
            root,
            ["append.target_not_object"],
        )


# --- remove --------


def test_remove_field_and_missing_field() -> None:
    assert run({"a": 1, "b": 2}, {"type": "remove", "path": "a"}) == ({"b": 2}, [])
    assert run({"b": 2}, {"type": "remove", "path": "a"}) == ({"b": 2}, [])
    assert run(MISSING, {"type": "remove", "path": "a"}) == ({}, [])


def test_remove_empty_path_nulls_the_value() -> None:
    assert run({"a": 1}, {"type": "remove", "path": ""}) == (None, [])


@pytest.mark.parametrize("root", ["s", [1], 2, None])
def test_remove_field_on_non_object_root_fails(root: Any) -> None:
    assert run(root, {"type": "remove", "path": "a"}) == (root, ["remove.target_not_object"])


# --- sequences --------


def test_ops_apply_in_order_and_failures_are_reported_with_index_and_doc_url() -> None:
    value, errors = apply_ops(
        MISSING,
        ops(
            {"type": "set", "path": "n", "value": "x"},
            {"type": "increment", "path": "n", "by": 1},
            {"type": "set", "path": "n", "value": 1},
            {"type": "increment", "path": "n", "by": 1},
            {"type": "merge", "value": []},
        ),
    )
    assert value == {"n": 2}
    assert [(e["op_index"], e["code"]) for e in errors] == [
        (1, "increment.not_number"),
        (4, "merge.value.not_an_object"),
    ]
    assert all(e["doc_url"] == DOC_URL and e["message"] for e in errors)
    assert set(errors[0]) == {"op_index", "code", "message", "doc_url"}


def test_no_ops_on_missing_key_gives_empty_object() -> None:
    assert apply_ops(MISSING, []) == ({}, [])


def test_root_replacement_changes_what_later_ops_see() -> None:
    assert run(
        {"a": 1},
        {"type": "remove", "path": ""},
        {"type": "set", "path": "b", "value": 1},
        {"type": "append", "value": "x"},
    ) == ("x", ["set.target_not_object"])


def test_ops_are_not_mutated_so_a_retry_gives_the_same_result() -> None:
    decoded = ops(
        {"type": "set", "path": "", "value": {"items": []}},
        {"type": "append", "path": "items", "value": {"n": 1}},
        {"type": "merge", "path": "m", "value": {"list": [1]}},
        {"type": "append", "path": ["m", "list"], "value": 2},
        {"type": "set", "path": "obj", "value": {"k": []}},
        {"type": "merge", "value": {"root": {"x": 1}}},
        {"type": "merge", "path": ["root"], "value": {"y": 2}},
        {"type": "append", "path": "tail", "value": [0]},
        {"type": "append", "path": "tail", "value": [1]},
    )
    snapshot = msgspec.json.encode(decoded)
    first = apply_ops(MISSING, decoded)
    assert msgspec.json.encode(decoded) == snapshot
    assert apply_ops(MISSING, decoded) == first
    assert first[0]["root"] == {"x": 1, "y": 2}
    assert first[0]["m"] == {"list": [1, 2]}
