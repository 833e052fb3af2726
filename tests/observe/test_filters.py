"""The observe filter language: what matches, what is refused, the normal form."""

from __future__ import annotations

from typing import Any

import pytest

from iii_engine.observe.filters import FilterError, compile_filter, normal_form, roots_of

DOC: dict[str, Any] = {
    "input": {"amount": 750, "sku": "A-1", "tags": ["x", "y"], "items": [{"n": 1}, {"n": 5}]},
    "output": {"charged": 750, "none": None},
    "caller": {"function_id": "shop::checkout", "worker_name": "web"},
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, True),
        ({"input.amount": {"$gte": 500}}, True),
        ({"input.amount": {"$gt": 750}}, False),
        ({"input.amount": {"$eq": 750.0}}, True),
        ({"input.amount": {"$eq": True}}, False),
        ({"input.sku": {"$prefix": "A-"}}, True),
        ({"input.sku": {"$lt": "B"}}, True),
        ({"input.sku": {"$gt": 1}}, False),
        ({"input.missing": {"$ne": 1}}, True),
        ({"input.missing": {"$nin": [1]}}, True),
        ({"input.missing": {"$exists": False}}, True),
        ({"output.none": {"$exists": True, "$eq": None}}, True),
        ({"error": {"$exists": True}}, False),
        ({"input.tags.1": {"$eq": "y"}}, True),
        ({"input.tags.01": {"$exists": True}}, False),
        ({"input.tags.9": {"$exists": True}}, False),
        ({"input.sku.length": {"$exists": True}}, False),
        ({"input.tags": {"$any": {"$eq": "x"}}}, True),
        ({"input.tags": {"$any": {}}}, True),
        ({"input.items": {"$any": {"@.n": {"$gte": 5}}}}, True),
        ({"input.items": {"$any": {"@.n": {"$gte": 6}}}}, False),
        ({"input.tags": {"$eq": ["x", "y"]}}, True),
        ({"input.tags": {"$eq": ["y", "x"]}}, False),
        ({"caller.function_id": {"$in": ["shop::checkout", "b"]}}, True),
        ({"$or": [{"input.amount": {"$lt": 1}}, {"output.charged": {"$eq": 750}}]}, True),
        ({"$not": {"input.amount": {"$lt": 1}}}, True),
        ({"$and": [{"input.amount": {"$gte": 1}}, {"input.sku": {"$eq": "B"}}]}, False),
    ],
)
def test_matches_like_the_sdk_evaluator(spec: dict[str, Any], expected: bool) -> None:
    assert compile_filter(spec)(DOC) is expected


@pytest.mark.parametrize(
    "spec",
    [
        {"input.op": "insert"},  # a literal instead of operators
        {"input.op": {}},
        {"input.op": {"eq": 1}},
        {"input.op": {"$regex": "x"}},
        {"$eq": 1},  # a value operator needs a path
        {"$xor": []},
        {"$or": []},
        {"$and": {}},
        {"$not": []},
        {"body.x": {"$eq": 1}},  # unknown root
        {"@.x": {"$eq": 1}},  # @ outside $any
        {"input.a..b": {"$eq": 1}},
        {"input.a\\x": {"$eq": 1}},
        {"input.a\\": {"$eq": 1}},
        {"input." + ".".join("s" * 17): {"$eq": 1}},
        {"input.a": {"$gt": True}},
        {"input.a": {"$exists": 1}},
        {"input.a": {"$prefix": 1}},
        {"input.a": {"$in": list(range(257))}},
        {"input.a": {"$eq": 2**60}},
        {"input.a": {"$eq": float("inf")}},
        {"input.a": {"$any": {"input.x": {"$eq": 1}}}},
        {"input.a": {"$eq": "x" * 9000}},
    ],
)
def test_refused_filters(spec: dict[str, Any]) -> None:
    with pytest.raises(FilterError):
        compile_filter(spec)


def test_depth_and_node_limits() -> None:
    deep: dict[str, Any] = {"input.a": {"$eq": 1}}
    for _ in range(8):
        deep = {"$not": deep}
    with pytest.raises(FilterError):
        compile_filter(deep)
    many = {"$and": [{f"input.k{i}": {"$eq": i}} for i in range(65)]}
    with pytest.raises(FilterError):
        compile_filter(many)


def test_normal_form_and_roots() -> None:
    assert normal_form({}) == {}
    assert normal_form({"input.n": {"$gte": 2}}) == {"$and": [{"input.n": {"$gte": 2}}]}
    both = {"$and": [{"input.a": {"$eq": 1}}], "output.b": {"$eq": 2}}
    assert normal_form(both) == {"$and": [{"input.a": {"$eq": 1}}, {"output.b": {"$eq": 2}}]}
    assert roots_of(both) == {"input", "output"}


def test_evaluation_failures_are_no_match() -> None:
    pred = compile_filter({"input.a": {"$gt": 1}})
    assert pred({"input": {"a": "text"}}) is False
    assert pred({}) is False
