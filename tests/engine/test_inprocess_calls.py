"""Calls made from inside the engine (trigger types, HTTP) to functions of remote workers."""

from __future__ import annotations

import asyncio

import pytest

from iii_engine.engine import Engine
from iii_sdk.errors import InvocationError
from tests.raw_client import open_raw


async def test_timeout_and_cancellation_forget_the_pending_call(iii_engine: Engine) -> None:
    executor = await open_raw(iii_engine.worker_url)
    try:
        await executor.register_function("slow::fn")
        with pytest.raises(InvocationError) as caught:
            await iii_engine.invoke("slow::fn", {}, timeout_ms=50)
        assert caught.value.code == "TIMEOUT"
        assert not iii_engine.router.pending

        call = asyncio.ensure_future(iii_engine.invoke("slow::fn", {}))
        await executor.invocation("slow::fn")
        await executor.invocation("slow::fn")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert not iii_engine.router.pending
        conn = iii_engine.workers.connections[executor.worker_id]
        assert iii_engine.router.active_invocations(conn) == 0
    finally:
        await executor.close()
