"""Namespaces declared by the official Python SDK (``InitOptions.namespace``) and engine::log.

The official SDK declares its namespace in ``engine::workers::register`` and, from then on,
sends every non-``engine::`` call with ``namespace`` set to it (docs/protocol.md 2.3, 2.4, 3.2).
"""

from __future__ import annotations

from typing import Any

import pytest
from iii import InvocationError as OfficialInvocationError

from iii_engine.engine import Engine
from iii_sdk.errors import InvocationError
from tests.compat.support import OfficialFactory, eventually, official_call

pytestmark = pytest.mark.compat


async def registered_in(engine: Engine, function_id: str, namespace: str) -> None:
    async def listed() -> bool:
        rows = await engine.invoke("engine::functions::list", {"prefix": function_id})
        return any(
            r["function_id"] == function_id and r["namespace"] == namespace
            for r in rows["functions"]
        )

    await eventually(listed, f"{function_id} to be registered in namespace {namespace}", 5)


async def test_official_worker_in_a_namespace_serves_its_own_calls(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(iii_engine, "official-team-a", namespace="team-a")
    client.register_function("teama::hello", lambda data: {"hello": "from team-a"})
    await registered_in(iii_engine, "teama::hello", "team-a")

    # The SDK sends this call with namespace "team-a": the function must resolve there.
    assert await official_call(client, "teama::hello", {}) == {"hello": "from team-a"}

    workers = await official_call(client, "engine::workers::list", {"search": "official-team-a"})
    [row] = workers["workers"]
    assert row["namespace"] == "team-a"


async def test_namespaced_function_is_found_only_in_its_namespace(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(iii_engine, "official-team-b", namespace="team-b")
    client.register_function("teamb::work", lambda data: "done")
    await registered_in(iii_engine, "teamb::work", "team-b")
    ours = await iii_worker(iii_engine, name="ours")

    assert await ours.trigger("teamb::work", {}, namespace="team-b") == "done"
    with pytest.raises(InvocationError) as caught:
        await ours.trigger("teamb::work", {})
    assert caught.value.code == "function_not_found"
    assert caught.value.message == (
        "Function teamb::work not found in namespace default. "
        "It is registered in namespace(s): team-b."
    )


async def test_official_sdk_in_a_namespace_still_reaches_engine_functions(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(iii_engine, "official-team-c", namespace="team-c")
    listing = await official_call(client, "engine::functions::list", {})
    assert "functions" in listing
    with pytest.raises(OfficialInvocationError) as caught:
        await official_call(client, "nobody::here", {})
    assert caught.value.code == "function_not_found"
    assert "namespace team-c" in caught.value.message


async def test_engine_log_functions_are_callable(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    """docs/protocol.md section 5: ``engine::log::*`` are always there and answer no result."""
    client = await official(iii_engine, "official-logger")
    for level in ("info", "warn", "error", "debug", "trace"):
        payload = {"message": f"compat {level}", "data": {"n": 1}}
        assert await official_call(client, f"engine::log::{level}", payload) is None
