"""iii-http-functions: requests, auth modes verified by a real server, responses, SSRF rules."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from iii_sdk.protocol import ApiKeyAuth, BearerAuth, HmacAuth, HttpInvocationRef
from iii_sdk.worker import Worker
from plugins.http_functions.config import SecurityConfig
from plugins.http_functions.security import UrlPolicy

OPEN = {
    "url_allowlist": ["127.0.0.1", "localhost"],
    "block_private_ips": False,
    "require_https": False,
}


class Probe:
    """A local HTTP server that checks auth as a real receiver would and records requests."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.release = asyncio.Event()
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = {
            "method": request.method,
            "path": request.path,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body,
        }
        self.requests.put_nowait(record)
        headers = record["headers"]
        match request.path:
            case "/hmac":
                expected = hmac.new(
                    b"s3cret",
                    f"{headers['x-iii-timestamp']}:{base64.b64encode(body).decode()}".encode(),
                    hashlib.sha256,
                ).hexdigest()
                if headers.get("x-iii-signature") != f"sha256={expected}":
                    return web.json_response(
                        {"error": {"code": "BAD_SIG", "message": "no"}}, status=401
                    )
                return web.json_response({"verified": "hmac"})
            case "/bearer":
                if headers.get("authorization") != "Bearer t0ken":
                    return web.Response(status=401)
                return web.json_response({"verified": "bearer"})
            case "/apikey":
                if headers.get("x-api-key") != "k3y":
                    return web.Response(status=403)
                return web.json_response({"verified": "api_key"})
            case "/empty":
                return web.Response(status=204)
            case "/text":
                return web.Response(text="not json")
            case "/fail":
                return web.json_response(
                    {"error": {"code": "E_PROBE", "message": "nope"}}, status=400
                )
            case "/crash":
                return web.Response(status=500, text="boom")
            case "/redirect":
                raise web.HTTPFound("/hmac")
            case "/hang":
                await self.release.wait()
                return web.json_response(None)
        return web.json_response({"seen": body.decode()})


@pytest.fixture
async def probe() -> AsyncIterator[Probe]:
    probe = Probe()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", probe.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    probe.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield probe
    probe.release.set()
    await runner.cleanup()


def http_functions(security: dict[str, Any] | None) -> list[dict[str, Any]]:
    config = {} if security is None else {"security": security}
    return [{"name": "http-functions", "config": config}]


@pytest.fixture
async def engine(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Engine]:
    monkeypatch.setenv("HF_SECRET", "s3cret")
    monkeypatch.setenv("HF_TOKEN", "t0ken")
    monkeypatch.setenv("HF_KEY", "k3y")
    async with start_engine(workers=http_functions(OPEN)) as running:
        yield running


async def registered(worker: Worker, refs: dict[str, HttpInvocationRef]) -> None:
    for function_id, ref in refs.items():
        worker.register_function(function_id, ref)
    await worker.trigger("engine::log::debug", {"message": "barrier"})  # frames are in order


async def test_request_shape_and_every_auth_mode(
    engine: Engine, probe: Probe, iii_worker: Any
) -> None:
    owner = await iii_worker(engine, name="owner")
    await registered(
        owner,
        {
            "ext::hmac": HttpInvocationRef(url=f"{probe.base}/hmac", auth=HmacAuth("HF_SECRET")),
            "ext::bearer": HttpInvocationRef(
                url=f"{probe.base}/bearer", method="PUT", auth=BearerAuth("HF_TOKEN")
            ),
            "ext::apikey": HttpInvocationRef(
                url=f"{probe.base}/apikey",
                headers={"x-custom": "yes"},
                auth=ApiKeyAuth(header="X-Api-Key", value_key="HF_KEY"),
            ),
        },
    )
    caller = await iii_worker(engine, name="caller")
    assert await caller.trigger("ext::hmac", {"a": 1}) == {"verified": "hmac"}
    request = await probe.requests.get()
    headers = request["headers"]
    assert request["method"] == "POST"
    assert headers["content-type"] == "application/json"
    assert headers["x-iii-function-path"] == "ext::hmac"
    assert len(headers["x-iii-invocation-id"]) == 36
    assert headers["x-iii-timestamp"].isdigit()
    assert request["body"] == f'{{"a":1,"_caller_worker_id":"{caller.worker_id}"}}'.encode()

    assert await caller.trigger("ext::bearer", {}) == {"verified": "bearer"}
    assert (await probe.requests.get())["method"] == "PUT"
    assert await caller.trigger("ext::apikey", {}) == {"verified": "api_key"}
    assert (await probe.requests.get())["headers"]["x-custom"] == "yes"

    listing = await caller.trigger("engine::functions::list", {"prefix": "ext::"})
    assert {row["function_id"] for row in listing["functions"]} == {
        "ext::hmac",
        "ext::bearer",
        "ext::apikey",
    }


async def test_response_mapping(engine: Engine, probe: Probe, iii_worker: Any) -> None:
    owner = await iii_worker(engine, name="owner")
    paths = ["empty", "text", "fail", "crash", "redirect", "hang"]
    refs = {f"ext::{p}": HttpInvocationRef(url=f"{probe.base}/{p}") for p in paths}
    refs["ext::hang"] = HttpInvocationRef(url=f"{probe.base}/hang", timeout_ms=100)
    await registered(owner, refs)
    assert await owner.trigger("ext::empty", {}) is None
    for function_id, code, message in [
        ("ext::text", "invalid_response", None),
        ("ext::fail", "E_PROBE", "nope"),
        ("ext::crash", "http_error", "HTTP 500 Internal Server Error"),
        ("ext::hang", "http_request_failed", "no response within 100 ms"),
    ]:
        with pytest.raises(InvocationError) as caught:
            await owner.trigger(function_id, {})
        assert caught.value.code == code
        if message is not None:
            assert caught.value.message == message
    # a redirect is not followed: its body is not JSON, so no result, and /hmac is never hit
    assert await owner.trigger("ext::redirect", {}) is None
    seen = [probe.requests.get_nowait()["path"] for _ in range(probe.requests.qsize())]
    assert "/hmac" not in seen and "/redirect" in seen


async def test_refused_registrations_leave_nothing(
    engine: Engine, probe: Probe, iii_worker: Any
) -> None:
    owner = await iii_worker(engine, name="owner")
    await registered(
        owner,
        {
            "ext::nosecret": HttpInvocationRef(url=f"{probe.base}/hmac", auth=HmacAuth("HF_UNSET")),
            "ext::elsewhere": HttpInvocationRef(url="http://example.invalid/x"),
            "ext::ftp": HttpInvocationRef(url="ftp://127.0.0.1/x"),
        },
    )
    for function_id in ("ext::nosecret", "ext::elsewhere", "ext::ftp"):
        assert engine.functions.get("default", function_id) is None


async def test_unregister_and_disconnect_remove_the_function(
    engine: Engine, probe: Probe, iii_worker: Any
) -> None:
    owner = await iii_worker(engine, name="owner")
    handle = owner.register_function("ext::a", HttpInvocationRef(url=f"{probe.base}/a"))
    await registered(owner, {"ext::b": HttpInvocationRef(url=f"{probe.base}/b")})
    caller = await iii_worker(engine, name="caller")
    assert await caller.trigger("ext::a", "x") == {"seen": '"x"'}
    handle.unregister()
    await owner.trigger("engine::log::debug", {"message": "barrier"})
    with pytest.raises(InvocationError) as caught:
        await caller.trigger("ext::a", "x")
    assert caught.value.code == "function_not_found"
    conn = engine.workers.connections[owner.worker_id]
    await owner.close()
    await asyncio.shield(conn.cleaned)
    assert engine.functions.get("default", "ext::b") is None


async def test_private_addresses_are_refused_by_default(probe: Probe, iii_worker: Any) -> None:
    security = {"require_https": False}  # allowlist "*", private addresses blocked
    async with start_engine(workers=http_functions(security)) as engine:
        owner = await iii_worker(engine, name="owner")
        await registered(
            owner,
            {
                "ext::literal": HttpInvocationRef(url=f"{probe.base}/x"),
                "ext::name": HttpInvocationRef(url=probe.base.replace("127.0.0.1", "localhost")),
            },
        )
        assert engine.functions.get("default", "ext::literal") is None
        assert engine.functions.get("default", "ext::name") is None
        assert probe.requests.empty()


async def test_https_is_required_by_default(probe: Probe, iii_worker: Any) -> None:
    async with start_engine(workers=http_functions(None)) as engine:
        owner = await iii_worker(engine, name="owner")
        await registered(owner, {"ext::plain": HttpInvocationRef(url=f"{probe.base}/x")})
        assert engine.functions.get("default", "ext::plain") is None


async def test_the_resolved_address_is_checked_at_connect_time() -> None:
    policy = UrlPolicy(SecurityConfig())
    with pytest.raises(OSError, match="non-public address"):
        await policy.resolver.resolve("localhost", 80, socket.AF_UNSPEC)
    with pytest.raises(OSError, match="non-public address"):
        await policy.resolver.resolve("::ffff:10.0.0.1", 80)
    [result] = await policy.resolver.resolve("8.8.8.8", 443)  # a literal: no lookup
    assert result["host"] == "8.8.8.8"
    await policy.resolver.close()


async def test_a_reloaded_worker_takes_over_and_rechecks_the_functions(
    probe: Probe, iii_worker: Any
) -> None:
    def config(security: dict[str, Any], max_connections: int) -> str:
        manager = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}
        entry = {
            "name": "iii-http-functions",
            "config": {"security": security, "max_connections": max_connections},
        }
        return yaml.safe_dump({"workers": [manager, entry]})

    async with start_engine(config(OPEN, 10)) as engine:
        owner = await iii_worker(engine, name="owner")
        await registered(owner, {"ext::kept": HttpInvocationRef(url=f"{probe.base}/k")})
        await engine.apply_reload(parse_config(config(OPEN, 20), base_dir=Path.cwd()))
        assert await owner.trigger("ext::kept", "x") == {"seen": '"x"'}  # the new session
        narrower = {**OPEN, "url_allowlist": ["localhost"]}
        await engine.apply_reload(parse_config(config(narrower, 20), base_dir=Path.cwd()))
        assert engine.functions.get("default", "ext::kept") is None  # refused by the new policy


async def test_a_traced_call_sends_its_trace_id(
    engine: Engine, probe: Probe, iii_worker: Any
) -> None:
    owner = await iii_worker(engine, name="owner")
    await registered(owner, {"ext::traced": HttpInvocationRef(url=f"{probe.base}/traced")})
    caller = await iii_worker(engine, name="caller")
    await caller.trigger("ext::traced", {})
    trace_id = (await probe.requests.get())["headers"]["x-iii-trace-id"]
    assert len(trace_id) == 32
    assert int(trace_id, 16) != 0
    spans = await caller.trigger("engine::traces::list", {"trace_id": trace_id})
    assert spans["total"] >= 1  # the engine's span of this very call
