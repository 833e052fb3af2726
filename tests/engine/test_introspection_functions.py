"""``engine::functions::*`` and ``engine::workers::*``: exact output keys, filters, errors."""

from __future__ import annotations

import os
from typing import Any

from iii_engine.engine import Engine
from tests.raw_client import raw_worker

SUMMARY_KEYS = {"function_id", "namespace", "worker_name"}
WORKER_KEYS = {
    "name",
    "description",
    "version",
    "id",
    "namespace",
    "runtime",
    "os",
    "status",
    "function_count",
    "connected_at_ms",
    "active_invocations",
    "isolation",
    "ip_address",
}


async def test_functions_list_rows_and_hiding(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "mathsvc") as w:
        await w.register_function("math::add", description="Adds numbers", metadata={"v": 1})
        await w.register_function("math::secret", metadata={"internal": True})
        await w.register_function("engine::queue::enqueue")
        async with raw_worker(iii_engine) as anon:
            await anon.register_function("anon::fn")
            listed = (await w.call_ok("engine::functions::list", {}))["functions"]
        assert [r["function_id"] for r in listed] == [
            "anon::fn",
            "engine::queue::enqueue",
            "math::add",
        ]
        by_id = {r["function_id"]: r for r in listed}
        assert by_id["math::add"] == {
            "function_id": "math::add",
            "namespace": "default",
            "worker_name": "mathsvc",
            "description": "Adds numbers",
            "metadata": {"v": 1},
        }
        # Unnamed connection: the first `::` segment; optional keys omitted.
        assert by_id["anon::fn"] == {
            "function_id": "anon::fn",
            "namespace": "default",
            "worker_name": "anon",
        }
        everything = (await w.call_ok("engine::functions::list", {"include_internal": True}))[
            "functions"
        ]
        ids = {r["function_id"] for r in everything}
        assert {"math::secret", "engine::functions::list", "engine::workers::register"} <= ids
        builtin = next(r for r in everything if r["function_id"] == "engine::functions::list")
        assert builtin["worker_name"] == "iii-engine-functions"
        assert set(builtin) <= SUMMARY_KEYS | {"description", "metadata"}


async def test_functions_list_filters_and_search_rank(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "alpha") as a, raw_worker(iii_engine, "beta") as b:
        await a.register_function("users::create", description="Create a user")
        await a.register_function("billing::charge", description="charge users")
        await b.register_function("reports::superusers")
        await b.register_function("users_admin::purge")

        async def ids(query: dict[str, object]) -> list[str]:
            rows = (await a.call_ok("engine::functions::list", query))["functions"]
            return [r["function_id"] for r in rows]

        assert await ids({"prefix": "users"}) == ["users::create", "users_admin::purge"]
        assert await ids({"worker": "beta"}) == ["reports::superusers", "users_admin::purge"]
        assert await ids({"workers": ["alpha", "beta"], "prefix": "b"}) == ["billing::charge"]
        # starts-with / segment match, then id substring, then description only.
        assert await ids({"search": "USERS"}) == [
            "users::create",
            "users_admin::purge",
            "reports::superusers",
            "billing::charge",
        ]


async def test_functions_info_single(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "mathsvc") as w:
        await w.register_function(
            "math::add",
            description="adds",
            request_format={"type": "object"},
            response_format={"type": "number"},
            metadata={"k": "v"},
        )
        await w.send(
            {
                "type": "registertrigger",
                "id": "t-1",
                "trigger_type": "engine::workers-available",
                "function_id": "math::add",
                "config": {"x": 1},
            }
        )
        info = await w.call_ok("engine::functions::info", {"function_id": "math::add"})
        assert info == {
            "function_id": "math::add",
            "namespace": "default",
            "worker_name": "mathsvc",
            "description": "adds",
            "request_schema": {"type": "object"},
            "response_schema": {"type": "number"},
            "metadata": {"k": "v"},
            "registered_triggers": [
                {"id": "t-1", "trigger_type": "engine::workers-available", "config": {"x": 1}}
            ],
        }
        await w.register_function("bare::fn")
        bare = await w.call_ok("engine::functions::info", {"function_id": "bare::fn"})
        assert bare == {
            "function_id": "bare::fn",
            "namespace": "default",
            "worker_name": "mathsvc",
            "registered_triggers": [],
        }
        missing = await w.call("engine::functions::info", {"function_id": "no::such"})
        assert missing["error"]["code"] == "NOT_FOUND"


async def test_functions_info_batch_and_invalid_arguments(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.register_function("a::one")
        await w.register_function("b::two")
        out = await w.call_ok(
            "engine::functions::info", {"function_ids": ["b::two", "x::none", "a::one", "b::two"]}
        )
        assert [r["function_id"] for r in out["functions"]] == ["b::two", "x::none", "a::one"]
        assert out["functions"][1] == {"function_id": "x::none", "error": "not_found"}
        assert out["functions"][0]["registered_triggers"] == []
        bad_queries: list[dict[str, Any]] = [
            {},
            {"function_id": "a::one", "function_ids": ["a::one"]},
            {"function_ids": []},
            {"function_ids": [f"f::{n}" for n in range(33)]},
        ]
        for bad in bad_queries:
            frame = await w.call("engine::functions::info", bad)
            assert frame["error"]["code"] == "INVALID_ARGUMENTS", bad
        ok = await w.call_ok(
            "engine::functions::info", {"function_ids": [f"f::{n}" for n in range(32)]}
        )
        assert len(ok["functions"]) == 32


async def test_workers_list_hides_pidless_and_has_exact_keys(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as pidless, raw_worker(iii_engine, "svc") as named:
        await pidless.call_ok("engine::workers::register", {"name": "nopid", "runtime": "node"})
        await named.register_function("svc::fn")
        rows = (await named.call_ok("engine::workers::list", {}))["workers"]
        assert all(set(r) == WORKER_KEYS for r in rows)
        ids = [r["id"] for r in rows]
        assert named.worker_id in ids
        assert pidless.worker_id not in ids
        mine = next(r for r in rows if r["id"] == named.worker_id)
        assert mine["name"] == "svc"
        assert mine["status"] == "connected"
        assert mine["runtime"] == "python"
        assert mine["version"] == "0.0-test"
        assert mine["namespace"] == "default"
        assert mine["function_count"] == 1
        assert mine["ip_address"] == "127.0.0.1"
        assert mine["description"] is None
        assert isinstance(mine["connected_at_ms"], int) and mine["connected_at_ms"] > 0
        core = next(r for r in rows if r["id"] == "iii-engine-functions")
        assert core["runtime"] == "engine"
        assert core["status"] == "available"
        assert core["isolation"] == "in-process"
        assert core["version"] == iii_engine.version
        assert core["active_invocations"] == 0
        names = [r["name"] or r["id"] for r in rows]
        assert names == sorted(names)


async def test_workers_list_filters(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "Payments-API") as w:
        by_search = (await w.call_ok("engine::workers::list", {"search": "payments"}))["workers"]
        assert [r["id"] for r in by_search] == [w.worker_id]
        engine_rows = (await w.call_ok("engine::workers::list", {"runtime": "engine"}))["workers"]
        assert engine_rows and all(r["runtime"] == "engine" for r in engine_rows)
        connected = (await w.call_ok("engine::workers::list", {"status": "connected"}))["workers"]
        assert [r["id"] for r in connected] == [w.worker_id]


async def test_workers_info(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.register_worker("infosvc", description="Info service", os="Linux")
        await w.register_function("info::fn")
        await w.send({"type": "registertriggertype", "id": "info-type", "description": "d"})
        await w.send(
            {
                "type": "registertrigger",
                "id": "info-t",
                "trigger_type": "info-type",
                "function_id": "info::fn",
                "config": {},
            }
        )
        await w.recv("registertrigger")
        out = await w.call_ok("engine::workers::info", {"name": "infosvc"})
        assert set(out) == {"worker", "functions", "trigger_types", "registered_triggers"}
        assert set(out["worker"]) - {"latest_metrics"} == WORKER_KEYS | {"pid", "internal"}
        assert out["worker"]["pid"] == os.getpid()
        assert out["worker"]["internal"] is False
        assert out["worker"]["description"] == "Info service"
        assert out["worker"]["os"] == "Linux"
        assert [f["function_id"] for f in out["functions"]] == ["info::fn"]
        assert out["trigger_types"] == [
            {
                "id": "info-type",
                "namespace": "default",
                "worker_name": "infosvc",
                "description": "d",
            }
        ]
        assert [r["id"] for r in out["registered_triggers"]] == ["info-t"]
        missing = await w.call("engine::workers::info", {"name": "ghost"})
        assert missing["error"] == {
            "code": "NOT_FOUND",
            "message": "Worker 'ghost' is not connected.",
        }


async def test_workers_register_result_and_metadata(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        frame = await w.register_worker("meta", isolation="docker")
        assert frame["result"] == {"success": True}
        info = await w.call_ok("engine::workers::info", {"name": "meta"})
        assert info["worker"]["isolation"] == "docker"
        blank = await w.call("engine::workers::register", {"namespace": "  "})
        assert blank["error"]["code"] == "INVALID_NAMESPACE"


async def test_builtin_bad_input_is_deserialization_error(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        for function_id, payload in (
            ("engine::functions::list", [1, 2]),
            ("engine::workers::info", {}),
            ("engine::unregister_trigger", {}),
            ("engine::register_trigger", {"trigger_type": "x"}),
        ):
            frame = await w.call(function_id, payload)
            assert frame["error"]["code"] == "deserialization_error", function_id
            assert frame["error"]["message"].startswith(
                f"Failed to deserialize input for {function_id}"
            )


async def test_workers_register_defaults_and_overwrites(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        first = {"name": "meta", "pid": 7, "version": "1.0", "telemetry": {"language": "en"}}
        assert (await w.call("engine::workers::register", first))["result"] == {"success": True}
        info = (await w.call_ok("engine::workers::info", {"name": "meta"}))["worker"]
        assert (info["runtime"], info["version"], info["pid"]) == ("unknown", "1.0", 7)
        # version is overwritten even when absent; other fields only when present.
        await w.call_ok("engine::workers::register", {"name": "meta", "runtime": "node"})
        info = (await w.call_ok("engine::workers::info", {"name": "meta"}))["worker"]
        assert (info["runtime"], info["version"], info["pid"]) == ("node", None, 7)
