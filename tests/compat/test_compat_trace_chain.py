"""One trace across three workers in two languages: official Python -> engine -> official Node
-> engine -> our Python SDK, with the SDKs' own spans (sent over ``/otel``) in the same store.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from iii_engine.engine import Engine
from tests.compat.support import eventually
from tests.raw_client import raw_worker

pytestmark = [pytest.mark.compat, pytest.mark.slow]


def _flatten(nodes: list[dict[str, Any]], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for node in nodes:
        rows.append((depth, node))
        rows.extend(_flatten(node["children"], depth + 1))
    return rows


async def test_python_node_python_is_one_trace_with_correct_parents(
    iii_engine: Engine, node: Any, py_worker: Any, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="py-leaf")
    seen: list[Any] = []

    def leaf(payload: Any) -> Any:
        seen.append(payload)
        return {"leaf": "ours"}

    ours.register_function("ours::leaf", leaf)
    await node(iii_engine, "combine.mjs")
    await py_worker(iii_engine, "chain")

    async with raw_worker(iii_engine) as caller:
        frame = await caller.call("offpy::chain", {"target": "ours::leaf", "payload": {"x": 1}})
        assert frame.get("result") == {"result": {"leaf": "ours"}}, frame
        roots = await caller.call_ok(
            "engine::traces::list", {"name": "call offpy::chain", "limit": 1}
        )
        trace_id = roots["spans"][0]["trace_id"]

        async def full_tree() -> Any:
            # The SDKs batch their spans (about 100 ms): wait until both have arrived.
            tree = await caller.call_ok("engine::traces::tree", {"trace_id": trace_id})
            names = [row["name"] for _, row in _flatten(tree["roots"])]
            wanted = ("execute offpy::chain", "execute node::probe", "call ours::leaf")
            return tree if all(name in names for name in wanted) else None

        tree = await eventually(full_tree, "the SDK spans of the chain", within=20)

    rows = _flatten(tree["roots"])
    by_name = {row["name"]: (depth, row) for depth, row in rows}
    chain = [
        "call offpy::chain",  # engine (root: the raw caller sent no traceparent)
        "execute offpy::chain",  # official Python SDK
        "call node::probe",  # engine
        "execute node::probe",  # official Node SDK
        "call ours::leaf",  # engine
    ]
    for parent_name, child_name in itertools.pairwise(chain):
        parent = by_name[parent_name][1]
        child = by_name[child_name][1]
        assert child["parent_span_id"] == parent["span_id"], (parent_name, child_name)
    assert [by_name[name][0] for name in chain] == [0, 1, 2, 3, 4]
    assert len(tree["roots"]) == 1
    assert by_name["execute node::probe"][1]["service_name"] != "iii"
    assert seen[0]["x"] == 1
