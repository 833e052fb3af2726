"""Access decisions (protocol.md 8.3) for invocations, trigger targets and discovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from iii_engine.access.rbac_config import parse_rbac
from iii_engine.access.session import Session
from iii_engine.engine import Engine
from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker
from tests.access.support import guarded_engine, trusted_worker
from tests.raw_client import RawWorker, open_raw

RBAC = {
    "rbac": {
        "auth_function_id": "auth::check",
        "expose_functions": [
            'match("pub::*")',
            "match('engine::functions::*')",
            {"match": "team::*", "namespace": "team-a"},
            {"metadata": {"public": True}},
            {"metadata": {"tier": 'match("gold*")', "region": "eu"}},
        ],
    }
}

GRANTS = {
    "forbidden_functions": ["pub::secret", "engine::log::info"],
    "allowed_functions": ["extra::one"],
    "namespaces": {"default": ["grant::exact", "svc::*", 'match("m::*")']},
}


def auth(payload: dict[str, Any]) -> Any:
    return GRANTS if payload["query_params"].get("who") == ["granted"] else {}


FUNCTIONS = {
    fid: (lambda p, fid=fid: fid)
    for fid in [
        "auth::check",
        "pub::hello",
        "pub::secret",
        "priv::x",
        "extra::one",
        "grant::exact",
        "grant::other",
        "svc::a",
        "m::b",
        "meta::pub",
        "meta::one",
        "meta::gold",
        "meta::gold-us",
        "meta::silver",
    ]
}
FUNCTIONS["auth::check"] = auth
METADATA = {
    "meta::pub": {"public": True},
    "meta::one": {"public": 1},
    "meta::gold": {"tier": "golden", "region": "eu"},
    "meta::gold-us": {"tier": "golden", "region": "us"},
    "meta::silver": {"tier": "silver", "region": "eu"},
}


@asynccontextmanager
async def guest(who: str) -> AsyncIterator[tuple[Engine, Worker]]:
    async with (
        guarded_engine(RBAC) as engine,
        trusted_worker(engine, FUNCTIONS, **METADATA),
        Worker(f"{engine.worker_urls[1]}/?who={who}", name=f"guest-{who}") as worker,
    ):
        yield engine, worker


EXPOSE = "not allowed (add to rbac.expose_functions)"
REMOVE = "not allowed (remove from rbac.forbidden_functions)"
DENIED_X = f"function 'priv::x' {EXPOSE}"


@pytest.mark.parametrize(
    ("who", "function_id", "denial"),
    [
        ("granted", "pub::hello", None),  # expose match()
        ("granted", "pub::secret", REMOVE),  # forbidden beats exposure
        ("granted", "priv::x", EXPOSE),
        ("granted", "extra::one", None),  # allowed_functions
        ("anonymous", "extra::one", EXPOSE),
        ("granted", "grant::exact", None),  # exact grant
        ("granted", "grant::other", EXPOSE),
        ("granted", "svc::a", None),  # glob grant
        ("granted", "m::b", None),  # match() grant
        ("anonymous", "m::b", EXPOSE),
        ("anonymous", "meta::pub", None),  # metadata filter, exact JSON equality
        ("anonymous", "meta::one", EXPOSE),  # 1 is not true
        ("anonymous", "meta::gold", None),  # metadata glob, every key matches
        ("anonymous", "meta::gold-us", EXPOSE),
        ("anonymous", "meta::silver", EXPOSE),
        ("anonymous", "engine::log::warn", None),  # infrastructure
        ("granted", "engine::log::info", REMOVE),  # ... unless forbidden
        ("anonymous", "nobody::here", EXPOSE),  # not found is not a leak
    ],
)
async def test_invoke_decisions(who: str, function_id: str, denial: str | None) -> None:
    async with guest(who) as (_engine, worker):
        payload = {"message": "hi"} if function_id.startswith("engine::log") else {}
        if denial is None:
            await worker.trigger(function_id, payload)
            return
        with pytest.raises(InvocationError) as caught:
            await worker.trigger(function_id, payload)
        assert caught.value.code == "FORBIDDEN"
        assert caught.value.message == f"function '{function_id}' {denial}"


async def test_allowed_entries_are_cached_and_replaced_entries_decided_again() -> None:
    async with guest("anonymous") as (engine, worker):
        assert await worker.trigger("pub::hello", {}) == "pub::hello"
        session = engine.workers.connections[worker.worker_id].session
        assert session is not None
        entry = engine.functions.get("default", "pub::hello")
        assert session.allowed.get(entry) is True
        with pytest.raises(InvocationError):
            await worker.trigger("priv::x", {})
        assert engine.functions.get("default", "priv::x") not in session.allowed


async def raw_guest(engine: Engine, who: str, *, declare: bool = True) -> RawWorker:
    """A raw session on the guarded listener (declaring ``default`` unless told not to)."""
    raw = await open_raw(engine.worker_urls[1], path=f"/?who={who}")
    first = await raw.recv("workerregistered")
    raw.worker_id = first["worker_id"]
    if declare:
        assert (await raw.register_worker(f"raw-{who}"))["result"] == {"success": True}
    return raw


async def test_void_denial_is_answered_with_a_fresh_id() -> None:
    async with guest("anonymous") as (engine, _worker):
        raw = await raw_guest(engine, "anonymous")
        try:
            await raw.send(
                {
                    "type": "invokefunction",
                    "function_id": "priv::x",
                    "data": {},
                    "action": {"type": "void"},
                }
            )
            frame = await raw.recv("invocationresult")
            assert frame["error"] == {"code": "FORBIDDEN", "message": DENIED_X}
            assert len(frame["invocation_id"]) == 36
        finally:
            await raw.close()


async def test_trigger_target_must_be_callable() -> None:
    async with guest("anonymous") as (engine, _worker):
        raw = await raw_guest(engine, "anonymous")
        try:
            for trigger_id, target in (("t-denied", "priv::x"), ("t-ok", "pub::hello")):
                await raw.send(
                    {
                        "type": "registertrigger",
                        "id": trigger_id,
                        "trigger_type": "engine::functions-available",
                        "function_id": target,
                        "config": {},
                    }
                )
            frame = await raw.recv("triggerregistrationresult")
            assert frame["id"] == "t-denied"
            assert frame["error"] == {"code": "FORBIDDEN", "message": DENIED_X}
            await raw.barrier()
            assert "t-ok" in engine.triggers.live and "t-denied" not in engine.triggers.live
            assert raw.take("triggerregistrationresult") == []
        finally:
            await raw.close()


async def test_discovery_lists_only_what_the_session_may_call() -> None:
    async with guest("granted") as (_engine, worker):
        listing = await worker.trigger("engine::functions::list", {})
        listed = {row["function_id"] for row in listing["functions"]}
        assert listed == {
            "pub::hello",
            "extra::one",
            "grant::exact",
            "svc::a",
            "m::b",
            "meta::pub",
            "meta::gold",
        }
        with pytest.raises(InvocationError) as caught:
            await worker.trigger("engine::functions::info", {"function_id": "priv::x"})
        assert caught.value.code == "NOT_FOUND"
        info = await worker.trigger("engine::functions::info", {"function_id": "svc::a"})
        assert info["function_id"] == "svc::a"


async def test_namespaced_filters_and_grants(iii_engine: Engine) -> None:
    rbac = parse_rbac(RBAC["rbac"], "rbac")
    from iii_engine.access.auth import AuthResult

    session = Session(
        iii_engine.router, iii_engine.spawn, rbac, None, AuthResult(namespaces={"team-b": ["x::*"]})
    )
    assert session.decide("team::jobs", "team-a", None) is None
    assert session.decide("team::jobs", "default", None) is not None
    assert session.decide("pub::hello", "team-a", None) is not None  # filters without ns: default
    assert session.decide("x::y", "team-b", None) is None
    assert session.decide("x::y", "default", None) is not None
    assert session.namespace_denial("team-b") is None
    assert session.namespace_denial(None) == (
        "namespace 'default' not allowed for this session (permitted: team-b)"
    )


async def test_declared_namespace_is_restricted_by_grants() -> None:
    scoped = {"namespaces": {"team-b": ["x::*"]}}

    def scoped_auth(payload: dict[str, Any]) -> Any:
        return scoped

    async with (
        guarded_engine(RBAC) as engine,
        trusted_worker(engine, {"auth::check": scoped_auth}),
    ):
        raw = await raw_guest(engine, "scoped", declare=False)
        try:
            frame = await raw.call("engine::workers::register", {"namespace": "team-c"})
            assert frame["error"] == {
                "code": "FORBIDDEN",
                "message": "namespace 'team-c' not allowed for this session (permitted: team-b)",
            }
            frame = await raw.call("engine::workers::register", {"namespace": "team-b"})
            assert frame["result"] == {"success": True}
        finally:
            await raw.close()


async def test_functions_available_events_show_only_callable_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from iii_engine.builtins import introspection

    monkeypatch.setattr(introspection, "FUNCTIONS_POLL_S", 0.02)
    async with guest("anonymous") as (engine, _worker):
        raw = await raw_guest(engine, "anonymous")
        try:
            await raw.register_function("guest::on-change")
            await raw.send(
                {
                    "type": "registertrigger",
                    "id": "watch",
                    "trigger_type": "engine::functions-available",
                    "function_id": "guest::on-change",
                    "config": {},
                }
            )
            async with trusted_worker(engine, {"pub::late": lambda p: 1}, name="late"):
                while True:
                    event = await raw.invocation("guest::on-change")
                    ids = {row["function_id"] for row in event["data"]["functions"]}
                    if "pub::late" in ids:
                        break
            assert "priv::x" not in ids and "auth::check" not in ids
            assert {"pub::hello", "meta::pub"} <= ids
        finally:
            await raw.close()
