"""Listener middleware (protocol.md 8.4): it runs instead of the target and answers the caller."""

from __future__ import annotations

from typing import Any

import pytest

from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker
from tests.access.support import Recorder, barrier, guarded_engine

GUARDED = {
    "middleware_function_id": "mw::wrap",
    "rbac": {
        "auth_function_id": "auth::check",
        "expose_functions": ['match("*")'],
    },
}


async def test_middleware_wraps_calls_that_passed_rbac() -> None:
    seen = Recorder()
    async with guarded_engine(GUARDED) as engine:
        trusted = Worker(engine.worker_urls[0], name="trusted")

        async def middleware(call: dict[str, Any]) -> Any:
            seen.put(call)
            if call["function_id"] == "fail::x":
                raise InvocationError("MW_DENIED", "not today")
            result = await trusted.trigger(call["function_id"], call["payload"])
            return {"wrapped": result}

        trusted.register_function(
            "auth::check",
            lambda p: {"context": {"user": "alice"}, "forbidden_functions": ["svc::secret"]},
        )
        trusted.register_function("mw::wrap", middleware)
        trusted.register_function("svc::echo", lambda p: {k: v for k, v in p.items() if k == "a"})
        trusted.register_function("svc::secret", lambda p: "secret")
        async with trusted, Worker(engine.worker_urls[1], name="guest") as guest:
            await barrier(trusted)
            assert await guest.trigger("svc::echo", {"a": 1}, metadata={"m": 2}) == {
                "wrapped": {"a": 1}
            }
            assert await seen.next() == {
                "function_id": "svc::echo",
                "payload": {"a": 1},
                "action": None,
                "context": {"user": "alice"},
                "namespace": "default",
                "metadata": {"m": 2},
            }
            await guest.trigger("svc::echo", {"a": 3}, action={"type": "void"})
            assert (await seen.next())["action"] == {"type": "void"}

            with pytest.raises(InvocationError) as caught:
                await guest.trigger("fail::x", {})
            assert (caught.value.code, caught.value.message) == ("MW_DENIED", "not today")
            await seen.next()

            with pytest.raises(InvocationError) as caught:
                await guest.trigger("svc::secret", {})
            assert caught.value.code == "FORBIDDEN"  # denied before the middleware

            listing = await guest.trigger("engine::functions::list", {})  # engine-owned: direct
            assert "functions" in listing
            assert seen.queue.empty()
