"""Authentication at connect (protocol.md 8.2) over real sockets, with our SDK and raw clients."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from iii_engine.access.auth import AuthResult, parse_query
from iii_engine.access.session import Session
from iii_engine.engine import Engine
from iii_sdk._metadata import resolve_headers
from iii_sdk.errors import IIIError, InvocationError
from iii_sdk.worker import Worker
from tests.access.support import Recorder, guarded_engine, trusted_worker

AUTH = {"rbac": {"auth_function_id": "auth::check", "expose_functions": ['match("pub::*")']}}


def checking_auth(calls: Recorder) -> Any:
    def auth(payload: dict[str, Any]) -> Any:
        calls.put(payload)
        token = payload["headers"].get("authorization")
        if token == "Bearer null":
            return None
        if token == "Bearer shape":
            return {"allowed_functions": "not a list"}
        if token != "Bearer good":
            raise InvocationError("UNAUTHORIZED", "bad token")
        return {"context": {"user": "alice"}}

    return auth


async def refused(url: str, headers: dict[str, str]) -> tuple[dict[str, Any], int | None, str]:
    """Connect raw; return the first frame, the close code and the close reason."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, headers=headers, autoping=False) as ws,
    ):
        first = await ws.receive_json(timeout=5)
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        return first, ws.close_code, str(closing.extra)


async def test_auth_input_carries_headers_query_and_peer_ip() -> None:
    calls = Recorder()
    async with (
        guarded_engine(AUTH) as engine,
        trusted_worker(engine, {"auth::check": checking_auth(calls)}),
        Worker(
            engine.worker_urls[1] + "/?token=a%20b&x=1&x=2&flag",
            name="guest",
            headers={"Authorization": "Bearer good", "X-Team": "ops"},
        ) as guest,
    ):
        payload = await calls.next()
        assert payload["headers"]["authorization"] == "Bearer good"
        assert payload["headers"]["x-team"] == "ops"
        assert payload["query_params"] == {"token": ["a%20b"], "x": ["1", "2"], "flag": [""]}
        assert payload["ip_address"] == "127.0.0.1"
        assert guest.worker_id in engine.workers.connections
        session = engine.workers.connections[guest.worker_id].session
        assert session is not None and session.context == {"user": "alice"}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("Bearer bad", "bad token"),
        ("Bearer null", "auth function returned no result"),
        (
            "Bearer shape",
            "invalid auth result: Expected `array`, got `str` - at `$.allowed_functions`",
        ),
    ],
)
async def test_failed_auth_sends_auth_error_then_closes(token: str, message: str) -> None:
    calls = Recorder()
    async with (
        guarded_engine(AUTH) as engine,
        trusted_worker(engine, {"auth::check": checking_auth(calls)}),
    ):
        before = set(engine.workers.connections)
        first, code, reason = await refused(engine.worker_urls[1], {"authorization": token})
        assert first == {"type": "error", "error": {"code": "AUTH_ERROR", "message": message}}
        assert code == 1008
        assert reason == "authentication failed"
        assert set(engine.workers.connections) == before  # nothing was registered


async def test_missing_auth_function_refuses() -> None:
    async with guarded_engine(AUTH) as engine:
        first, code, _ = await refused(engine.worker_urls[1], {})
        assert first["error"]["code"] == "AUTH_ERROR"
        assert "auth::check" in first["error"]["message"]
        assert code == 1008


async def test_our_sdk_without_reconnect_reports_the_refusal() -> None:
    calls = Recorder()
    async with (
        guarded_engine(AUTH) as engine,
        trusted_worker(engine, {"auth::check": checking_auth(calls)}),
    ):
        worker = Worker(
            engine.worker_urls[1], headers={"authorization": "Bearer bad"}, reconnect=False
        )
        try:
            with pytest.raises(IIIError, match="AUTH_ERROR: bad token"):
                await worker.connect()
        finally:
            await worker.close()


async def test_otel_socket_is_authenticated_too() -> None:
    calls = Recorder()
    async with (
        guarded_engine(AUTH) as engine,
        trusted_worker(engine, {"auth::check": checking_auth(calls)}),
    ):
        first, code, _ = await refused(engine.worker_urls[1] + "/otel", {})
        assert first["error"]["code"] == "AUTH_ERROR"
        assert code == 1008


def test_auth_result_defaults() -> None:
    result = AuthResult()
    assert result.namespaces == {} and result.allowed_functions == []
    assert result.forbidden_functions == [] and result.allowed_trigger_types is None
    assert result.allow_trigger_type_registration is False
    assert result.allow_function_registration is True
    assert result.context == {} and result.function_registration_prefix is None


async def test_session_without_auth_function_may_register_trigger_types(
    iii_engine: Engine,
) -> None:
    session = Session(iii_engine.router, iii_engine.spawn, None, None)
    assert session.auth.allow_trigger_type_registration is True
    assert session.auth.allow_function_registration is True
    assert session.context == {}


def test_query_split_is_upstreams() -> None:
    assert parse_query("a=1&a=2&b&c=x=y&&d=") == {
        "a": ["1", "2"],
        "b": [""],
        "c": ["x=y"],
        "d": [""],
    }


async def test_our_sdk_sends_iii_token_as_a_bearer_header(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Recorder()
    monkeypatch.setenv("III_TOKEN", " good ")
    async with (
        guarded_engine(AUTH) as engine,
        trusted_worker(engine, {"auth::check": checking_auth(calls)}),
        Worker(engine.worker_urls[1], name="from-env"),
    ):
        assert (await calls.next())["headers"]["authorization"] == "Bearer good"
    assert resolve_headers({"authorization": "Bearer mine"}) == {"authorization": "Bearer mine"}
