"""The payload checks of ``iii trigger`` against a function's JSON Schema (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from iii_engine.cli.trigger_checks import render_error, schema_problems
from iii_sdk.errors import InvocationError

ADD = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}
STRUCT = {  # the shape msgspec writes: a $ref into $defs
    "$ref": "#/$defs/Order",
    "$defs": {
        "Order": {
            "type": "object",
            "properties": {"lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}}},
            "required": ["lines"],
        },
        "Line": {"type": "object", "properties": {"qty": {"type": "integer"}}, "required": ["qty"]},
    },
}


@pytest.mark.parametrize(
    ("schema", "payload", "problems"),
    [
        (ADD, {"a": 1, "b": 2}, []),
        (ADD, {"a": 1}, ["b: required"]),
        (ADD, {"a": 1, "bb": 2}, ["b: required (did you mean b instead of bb?)"]),
        (ADD, {"a": "x", "b": 2}, ["a: expected integer, got string"]),
        (ADD, [1, 2], ["payload: expected object, got array"]),
        (
            {**ADD, "additionalProperties": False},
            {"a": 1, "b": 2, "bb": 3, "zzz": 4},
            ["bb: unknown key (did you mean b?); zzz: unknown key"],
        ),
        (STRUCT, {"lines": [{"qty": 1}, {}]}, ["lines[1].qty: required"]),
        (STRUCT, {"lines": [{"qty": "1"}]}, ["lines[0].qty: expected integer, got string"]),
        (None, {"anything": 1}, []),
        ({"type": "objekt"}, {}, []),  # an invalid schema is not the caller's problem
        ({"$ref": "#/$defs/Missing"}, {}, []),
        ({"name": "in", "type": "object", "body": [{"name": "a", "required": True}]}, {}, []),
    ],
)
def test_schema_problems(schema: Any, payload: Any, problems: list[str]) -> None:
    assert schema_problems(schema, payload) == problems


def test_render_error_text_and_json() -> None:
    exc = InvocationError("invocation_failed", "boom", stacktrace="Traceback:\n  line\nE: boom\n")
    assert render_error(exc, as_json=False) == (
        "invocation_failed: boom\n  Traceback:\n    line\n  E: boom"
    )
    assert render_error(exc, as_json=True).startswith('{\n  "code": "invocation_failed",')
