"""iii-http's own log lines: the access log, and the ``error_id`` of a 500 with its failure."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.plugins.http.conftest import Serve


def _boom(request: Any) -> Any:
    raise ValueError("the handler broke")


async def test_access_log_line_per_request(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="iii.http.access")
    async with serve() as env:
        await env.route("/hello", lambda req: {"body": {"ok": True}}, function_id="t::hello")
        async with env.session.get(env.url("/hello")) as resp:
            assert resp.status == 200
        async with env.session.get(env.url("/nowhere")) as resp:
            assert resp.status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "iii.http.access"]
    assert len(lines) == 2
    method, path, status, duration, function = lines[0].split(" ")
    assert (method, path, status, function) == ("GET", "/hello", "200", "t::hello")
    assert duration.endswith("ms") and float(duration[:-2]) >= 0
    assert lines[1].startswith("GET /nowhere 404 ") and lines[1].endswith(" -")


async def test_access_log_can_be_switched_off(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="iii.http.access")
    async with serve(access_log=False) as env:
        await env.route("/hello", lambda req: {"body": {"ok": True}})
        async with env.session.get(env.url("/hello")) as resp:
            assert resp.status == 200
    assert [r for r in caplog.records if r.name == "iii.http.access"] == []


async def test_a_500_error_id_is_logged_with_function_and_invocation(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="iii.http")
    async with serve() as env:
        await env.route("/boom", _boom, function_id="t::boom")
        async with env.session.get(env.url("/boom")) as resp:
            assert resp.status == 500
            error = (await resp.json())["error"]
    assert error["code"] == "invocation_failed"
    logged = [r.getMessage() for r in caplog.records if r.name == "iii.http"]
    assert len(logged) == 1, logged
    line = logged[0]
    assert line.startswith(f"GET /boom: t::boom failed (error_id {error['error_id']}, invocation ")
    assert "invocation -)" not in line  # a remote worker's invocation has an id
    assert line.endswith("invocation_failed: the handler broke")
