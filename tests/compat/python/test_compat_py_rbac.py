"""RBAC, authentication and middleware (docs/protocol.md section 8) with the official Python SDK.

Two listeners share one engine: a trusted one (no rbac) where our worker hosts the auth and
middleware functions, and a public one guarded by them, where the official SDK connects with
its ``InitOptions.headers``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from iii import InvocationError as OfficialInvocationError

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker
from tests.compat.support import (
    Inbox,
    OfficialFactory,
    close_official,
    eventually,
    function_ids,
    official_call,
    wait_for_functions,
)

pytestmark = pytest.mark.compat


def listeners(public: dict[str, Any]) -> str:
    trusted = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}
    guarded = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0, **public}}
    return yaml.safe_dump({"workers": [trusted, guarded]})


RBAC = {
    "rbac": {
        "auth_function_id": "rbac::auth",
        "expose_functions": [
            'match("public::*")',
            'match("engine::functions::list")',
            {"metadata": {"exposed": True}},
        ],
    }
}


@pytest.fixture
async def rbac_engine() -> AsyncIterator[Engine]:
    async with start_engine(listeners(RBAC)) as running:
        yield running


@pytest.fixture
async def middleware_engine() -> AsyncIterator[Engine]:
    async with start_engine(listeners({"middleware_function_id": "rbac::middleware"})) as running:
        yield running


async def trusted_worker(engine: Engine, auth_calls: Inbox) -> Worker:
    """Our worker on the trusted listener: the auth function and a few targets."""
    trusted_url, _public_url = engine.worker_urls
    worker = Worker(trusted_url, name="trusted")

    def auth(payload: Any) -> Any:
        auth_calls.put(payload)
        if payload["headers"].get("authorization") != "Bearer good":
            raise InvocationError("UNAUTHORIZED", "bad token")
        return {"context": {"user": "alice"}, "allowed_functions": ["allowed::listed"]}

    worker.register_function("rbac::auth", auth)
    worker.register_function("public::hello", lambda p: {"hello": "public"})
    worker.register_function("private::secret", lambda p: {"secret": 42})
    worker.register_function("allowed::listed", lambda p: "allowed by the auth result")
    worker.register_function("meta::exposed", lambda p: "exposed", metadata={"exposed": True})
    await worker.connect()
    await wait_for_functions(
        engine, "rbac::auth", "public::hello", "private::secret", "meta::exposed"
    )
    return worker


async def test_authenticated_official_worker_sees_only_exposed_functions(
    rbac_engine: Engine, official: OfficialFactory
) -> None:
    auth_calls = Inbox()
    trusted = await trusted_worker(rbac_engine, auth_calls)
    _trusted_url, public = rbac_engine.worker_urls
    try:
        client = await official(public, "official-guest", headers={"authorization": "Bearer good"})
        auth_input = await auth_calls.get(5)
        assert auth_input["headers"]["authorization"] == "Bearer good"
        assert auth_input["ip_address"] == "127.0.0.1"

        assert await official_call(client, "public::hello", {}) == {"hello": "public"}
        assert await official_call(client, "meta::exposed", {}) == "exposed"
        assert await official_call(client, "allowed::listed", {}) == "allowed by the auth result"
        with pytest.raises(OfficialInvocationError) as caught:
            await official_call(client, "private::secret", {})
        assert caught.value.code == "FORBIDDEN"
        assert caught.value.message == (
            "function 'private::secret' not allowed (add to rbac.expose_functions)"
        )
        listing = await official_call(client, "engine::functions::list", {})
        listed = {row["function_id"] for row in listing["functions"]}
        assert {"public::hello", "meta::exposed", "allowed::listed"} <= listed
        assert not {"private::secret", "rbac::auth"} & listed
    finally:
        await trusted.close()


async def test_rejected_official_worker_registers_nothing(
    rbac_engine: Engine, official: OfficialFactory
) -> None:
    auth_calls = Inbox()
    trusted = await trusted_worker(rbac_engine, auth_calls)
    _trusted_url, public = rbac_engine.worker_urls
    try:
        client = await official(
            public, "official-intruder", headers={"authorization": "Bearer bad"}
        )
        client.register_function("intruder::fn", lambda d: "should never be callable")
        assert (await auth_calls.get(5))["headers"]["authorization"] == "Bearer bad"

        # The engine answers with an AUTH_ERROR frame and closes; the SDK goes back to retrying
        # (it only does so after a Close whose code is not 1000/1001).
        async def retrying() -> bool:
            return bool(client.get_connection_state() in ("disconnected", "reconnecting"))

        await eventually(retrying, "the SDK to be thrown out and retry")
        assert "intruder::fn" not in await function_ids(rbac_engine)
        workers = await rbac_engine.invoke("engine::workers::list", {"search": "intruder"})
        assert workers["workers"] == []
        await close_official(client)
    finally:
        await trusted.close()


async def test_listener_middleware_wraps_official_calls(
    middleware_engine: Engine, official: OfficialFactory
) -> None:
    trusted_url, public_url = middleware_engine.worker_urls
    seen = Inbox()
    async with Worker(trusted_url, name="trusted-mw") as trusted:

        async def middleware(payload: Any) -> Any:
            seen.put(payload)
            result = await trusted.trigger(payload["function_id"], payload["payload"])
            return {"via": "middleware", "result": result}

        trusted.register_function("rbac::middleware", middleware)
        trusted.register_function("public::hello", lambda p: {"hello": "public"})
        await wait_for_functions(middleware_engine, "rbac::middleware", "public::hello")

        client = await official(public_url, "official-through-mw")
        result = await official_call(client, "public::hello", {"x": 1})
        assert result == {"via": "middleware", "result": {"hello": "public"}}
        call = await seen.get()
        assert call["function_id"] == "public::hello"
        assert call["payload"] == {"x": 1}
        assert call["action"] is None
        assert "_caller_worker_id" not in call["payload"]

        # Engine-owned functions bypass the middleware.
        listing = await official_call(client, "engine::functions::list", {})
        assert "functions" in listing
        assert seen.empty()


@pytest.fixture
async def hooks_engine() -> AsyncIterator[Engine]:
    rbac = {
        "rbac": {
            "auth_function_id": "rbac::auth",
            "on_function_registration_function_id": "rbac::on-function",
            "expose_functions": ['match("public::*")'],
        }
    }
    async with start_engine(listeners(rbac)) as running:
        yield running


async def test_official_worker_under_hooks_and_a_prefix(
    hooks_engine: Engine, official: OfficialFactory
) -> None:
    trusted_url, public_url = hooks_engine.worker_urls
    hooked = Inbox()

    def on_function(payload: Any) -> Any:
        hooked.put(payload)
        return None if payload["function_id"].startswith("denied::") else {}

    async with Worker(trusted_url, name="trusted-hooks") as trusted:
        trusted.register_function(
            "rbac::auth", lambda p: {"function_registration_prefix": "tenant", "context": {"t": 1}}
        )
        trusted.register_function("rbac::on-function", on_function)
        await wait_for_functions(hooks_engine, "rbac::auth", "rbac::on-function")

        client = await official(public_url, "official-tenant", namespace="team-t")
        client.register_function("work", lambda data: {"done": data["n"]})
        client.register_function("denied::fn", lambda data: None)
        calls = [await hooked.get(), await hooked.get()]
        assert {c["function_id"] for c in calls} == {"work", "denied::fn"}
        # held until the SDK declared its namespace: the hook sees where they will live
        assert {c["namespace"] for c in calls} == {"team-t"}
        assert calls[0]["context"] == {"t": 1}

        async def landed() -> bool:
            return hooks_engine.functions.get("team-t", "tenant::work") is not None

        await eventually(landed, "tenant::work in team-t")
        assert await trusted.trigger("tenant::work", {"n": 3}, namespace="team-t") == {"done": 3}
        assert hooks_engine.functions.get("team-t", "tenant::denied::fn") is None
