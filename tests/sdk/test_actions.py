"""``Enqueue`` / ``Void`` / ``TriggerAction``: the frames they put on the wire."""

from __future__ import annotations

import asyncio

import pytest

from iii_sdk import Enqueue, TriggerAction, Void, Worker
from tests.sdk.rawserver import raw_server


@pytest.mark.parametrize(
    "action",
    [
        Enqueue(queue="emails"),
        TriggerAction.Enqueue(queue="emails"),
        {"type": "enqueue", "queue": "emails"},
    ],
    ids=["Enqueue", "TriggerAction.Enqueue", "dict"],
)
async def test_enqueue_action_frame(action: object) -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        await worker.connect()
        conn = await server.accept()
        await conn.next()  # engine::workers::register
        pending = asyncio.ensure_future(worker.trigger("emails::send", {"a": 1}, action=action))
        [frame] = await conn.take(1)
        assert frame["action"] == {"type": "enqueue", "queue": "emails"}
        assert frame["function_id"] == "emails::send"
        assert "invocation_id" in frame
        pending.cancel()
        await worker.close()


async def test_void_action_frame() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        await worker.connect()
        conn = await server.accept()
        await conn.next()
        assert await worker.trigger("audit::log", {"e": 1}, action=TriggerAction.Void()) is None
        assert await worker.trigger("audit::log", {"e": 2}, action=Void()) is None
        frames = await conn.take(2)
        assert [f["action"] for f in frames] == [{"type": "void"}] * 2
        assert all("invocation_id" not in f for f in frames)
        await worker.close()
