"""Property tests of the update ops: failures change nothing, results stay JSON."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins._shared.update_ops import MISSING, UpdateOp, apply_ops

keys = st.sampled_from(["a", "b", "n", "s", "__proto__", ""])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.text(max_size=3),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
paths = keys | st.lists(keys, max_size=3)
raw_ops = st.one_of(
    st.fixed_dictionaries({"type": st.just("set"), "path": keys, "value": json_values}),
    st.fixed_dictionaries({"type": st.just("merge"), "path": paths, "value": json_values}),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["increment", "decrement"]),
            "path": keys,
            "by": st.integers(-5, 5),
        }
    ),
    st.fixed_dictionaries({"type": st.just("append"), "path": paths, "value": json_values}),
    st.fixed_dictionaries({"type": st.just("remove"), "path": keys}),
)


@settings(max_examples=400, deadline=None)
@given(current=json_values | st.just(MISSING), raw=raw_ops)
def test_a_failed_op_leaves_the_value_unchanged(current: Any, raw: dict[str, Any]) -> None:
    op = msgspec.convert(raw, UpdateOp)
    before = copy.deepcopy(current)
    after, errors = apply_ops(current, [op])
    if errors:
        assert after == ({} if before is MISSING else before)
        assert errors[0]["code"].startswith(raw["type"] + ".")
    # Whatever happened, the result is plain JSON again.
    assert msgspec.json.decode(msgspec.json.encode(after)) == after


@settings(max_examples=200, deadline=None)
@given(current=json_values, raws=st.lists(raw_ops, max_size=5))
def test_ops_apply_one_after_another(current: Any, raws: list[dict[str, Any]]) -> None:
    ops = msgspec.convert(raws, list[UpdateOp])
    together, errors = apply_ops(copy.deepcopy(current), ops)
    stepwise, codes = copy.deepcopy(current), []
    for op in ops:
        stepwise, step_errors = apply_ops(stepwise, [op])
        codes += [e["code"] for e in step_errors]
    assert together == stepwise
    assert [e["code"] for e in errors] == codes
