"""Our filter evaluator against the official 0.25 SDK's, on a seeded random corpus.

Both must refuse the same filters and give the same match for every document.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from iii_engine.observe.filters import FilterError, compile_filter
from tests.compat.sdk025.runner import PYTHON, available

pytestmark = pytest.mark.compat

ORACLE = Path(__file__).with_name("filter_oracle.py")
PATHS = [
    "input",
    "input.a",
    "input.b",
    "input.a.b",
    "input.list",
    "input.list.0",
    "input.list.01",
    "input.s",
    "input.s.length",
    "output",
    "output.x",
    "error.code",
    "caller.function_id",
    "metadata.k",
    "input.a\\.b",
    "body.x",
    "input..a",
]
VALUES: list[Any] = [0, 1, 1.0, -0.0, 2.5, 2**53, 2**60, True, False, None, "a", "ab", "b", ""]
VALUES += [[], [1], [1, "a"], {}, {"a": 1}]
OPS = [
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
    "$bad",
]


def _operand(rng: random.Random, op: str) -> Any:
    if op in ("$in", "$nin"):
        return [rng.choice(VALUES) for _ in range(rng.randint(0, 3))] if rng.random() < 0.9 else 1
    if op == "$exists":
        return rng.choice([True, False, 1])
    if op == "$prefix":
        return rng.choice(["a", "", 1])
    if op == "$any":
        if rng.random() < 0.5:
            if rng.random() < 0.1:
                return {}
            return {rng.choice(["$eq", "$gt", "$in"]): rng.choice(VALUES[:12])}
        return {rng.choice(["@", "@.a", "input.a"]): {"$eq": rng.choice(VALUES[:10])}}
    return rng.choice(VALUES)


def _filter(rng: random.Random, depth: int = 0) -> Any:
    out: dict[str, Any] = {}
    for _ in range(rng.randint(0, 2)):
        roll = rng.random()
        if roll < 0.12 and depth < 3:
            out["$or"] = [_filter(rng, depth + 1) for _ in range(rng.randint(0, 2))]
        elif roll < 0.2 and depth < 3:
            out["$not"] = _filter(rng, depth + 1)
        elif roll < 0.27 and depth < 3:
            out["$and"] = [_filter(rng, depth + 1) for _ in range(rng.randint(1, 2))]
        elif roll < 0.3:
            out[rng.choice(PATHS)] = rng.choice(VALUES)  # a literal: refused
        else:
            ops = {}
            for _ in range(rng.randint(1, 2)):
                op = rng.choice(OPS)
                ops[op] = _operand(rng, op)
            out[rng.choice(PATHS)] = ops
    return out


def _doc(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if rng.random() < 0.9:
        doc["input"] = {
            k: rng.choice(VALUES)
            for k in rng.sample(["a", "b", "list", "s", "a.b"], rng.randint(0, 5))
        }
        if rng.random() < 0.3:
            doc["input"]["a"] = {"b": rng.choice(VALUES)}
        if rng.random() < 0.3:
            doc["input"]["list"] = [rng.choice(VALUES) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.5:
        doc["output"] = rng.choice([{"x": rng.choice(VALUES)}, None, 3])
    if rng.random() < 0.3:
        doc["error"] = {"code": rng.choice(["a", "b"])}
    doc["caller"] = {"function_id": rng.choice(["a", "ab"])}
    return doc


def test_our_filters_agree_with_the_sdk_evaluator() -> None:
    if (missing := available()) is not None:
        pytest.fail(missing)
    rng = random.Random(25)
    cases = [{"filter": _filter(rng), "docs": [_doc(rng) for _ in range(4)]} for _ in range(3000)]
    oracle = subprocess.run(
        [str(PYTHON), str(ORACLE)],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = json.loads(oracle.stdout)
    mismatches = []
    for case, want in zip(cases, expected, strict=True):
        try:
            pred = compile_filter(case["filter"])
        except FilterError:
            got = None
        else:
            got = [pred(doc) for doc in case["docs"]]
        if got != want:
            mismatches.append((case, want, got))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"
    valid = [w for w in expected if w is not None]
    assert len(valid) > len(cases) // 3  # the corpus exercises both answers and refusals
    assert 0 < sum(sum(w) for w in valid) < sum(len(w) for w in valid)
