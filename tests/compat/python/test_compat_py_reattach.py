"""Reconnect over a half-open link: the SDK comes back while the engine still holds its ghost.

The official SDKs send ``reattach`` (previous worker id + token) first on a new socket; the
engine must retire the ghost before the replayed registrations (docs/protocol.md 2.5), otherwise the
worker name and its function ids are still taken and the SDK is rejected for good.
"""

from __future__ import annotations

from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.compat.network import HalfOpenProxy, fixed_port_listener, free_port
from tests.compat.support import (
    OfficialFactory,
    close_official,
    eventually,
    official_call,
    wait_for_binding,
    wait_for_functions,
)

pytestmark = pytest.mark.compat


async def test_official_python_reattaches_over_a_half_open_link(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    async with HalfOpenProxy(iii_engine) as proxy:
        client = await official(proxy.url, "official-half-open")
        client.register_function("offpy::ghostly", lambda data: "served by the new link")
        client.register_function("offpy::watch", lambda data: None)
        client.register_trigger(
            {"type": "engine::workers-available", "function_id": "offpy::watch", "config": {}}
        )
        await wait_for_functions(iii_engine, "offpy::ghostly")
        binding = await wait_for_binding(iii_engine, "offpy::watch")
        old_id = client.worker_id
        assert old_id in iii_engine.workers.connections

        proxy.cut_clients()

        async def reattached() -> bool:
            return (
                client.worker_id not in (None, old_id)
                and old_id not in iii_engine.workers.connections
            )

        await eventually(reattached, "the SDK to reconnect and the engine to retire the ghost")
        assert client.get_connection_state() == "connected"

        ours = await iii_worker(iii_engine, name="ours")

        async def answers() -> Any:
            try:
                return await ours.trigger("offpy::ghostly", {}, timeout_ms=2000)
            except Exception:
                return None

        assert (
            await eventually(answers, "the function to be served again") == "served by the new link"
        )
        workers = await iii_engine.invoke("engine::workers::list", {"search": "official-half-open"})
        assert [w["id"] for w in workers["workers"]] == [client.worker_id]
        assert await official_call(client, "offpy::ghostly", {}) == "served by the new link"
        # The replayed binding (same id) replaced the old one instead of adding a second.
        rows = await iii_engine.invoke(
            "engine::registered-triggers::list", {"function_id": "offpy::watch"}
        )
        assert [r["id"] for r in rows["registered_triggers"]] == [binding["id"]]


async def test_official_python_replays_to_a_restarted_engine(
    official: OfficialFactory,
) -> None:
    """A reattach naming an id the new engine never saw is ignored; the replay still lands.

    The official Python SDK only reconnects after an *abnormal* close: a Close frame with 1000
    or 1001 ends its receive loop for good (websockets' ConnectionClosedOK). An engine that
    shuts down must therefore drop the socket or close with another code (1012 service restart).
    """
    port = free_port()
    async with start_engine(fixed_port_listener(port)) as first:
        client = await official(first, "official-restart")
        client.register_function("offpy::persistent", lambda data: "replayed")
        await wait_for_functions(first, "offpy::persistent")
        old_id = client.worker_id

    async with start_engine(fixed_port_listener(port)) as second:
        await wait_for_functions(second, "offpy::persistent")

        async def new_identity() -> bool:
            return client.worker_id not in (None, old_id)

        # The SDK replays before it reads the new engine's ``workerregistered``.
        await eventually(new_identity, "the SDK to learn its new worker id")
        async with Worker(second.worker_url, name="ours") as ours:
            assert await ours.trigger("offpy::persistent", {}) == "replayed"
        await close_official(client)
