"""Bindings from raw workers to an in-process trigger type (a test plugin), and firing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import (
    BuiltinWorker,
    Trigger,
    TriggerType,
    WorkerContext,
    WorkerRegistry,
    WorkerSpec,
)
from tests.raw_client import RawWorker, disconnect, open_raw, raw_worker


class GateType(TriggerType):
    """Accepts bindings unless their config says ``reject``; fires on ``gate::open``."""

    id = "gate"
    description = "Test gate"
    trigger_request_format = {"type": "object"}

    def __init__(self) -> None:
        self.active: dict[str, Trigger] = {}
        self.dropped: list[str] = []

    async def register_trigger(self, trigger: Trigger) -> None:
        if isinstance(trigger.config, dict) and trigger.config.get("reject"):
            raise ValueError(f"gate refuses {trigger.id}")
        self.active[trigger.id] = trigger

    async def unregister_trigger(self, trigger: Trigger) -> None:
        self.active.pop(trigger.id, None)
        self.dropped.append(trigger.id)


class GateWorker(BuiltinWorker):
    def __init__(self, config: Any) -> None:
        self.type = GateType()

    async def start(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        ctx.register_trigger_type(self.type)
        ctx.register_function("gate::open", self.open)

    async def open(self, payload: Any) -> list[Any]:
        results = []
        for trigger in list(self.type.active.values()):
            results.append(
                await self.ctx.invoke(
                    trigger.function_id,
                    payload,
                    metadata=trigger.metadata,
                    namespace=trigger.namespace,
                )
            )
        return results

    async def stop(self) -> None:
        pass


class GatePlugin:
    @hookimpl
    def iii_register_workers(self, registry: WorkerRegistry) -> None:
        registry.add(WorkerSpec(name="test-gate", factory=GateWorker))


@pytest.fixture
async def gate_engine(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Engine]:
    monkeypatch.setenv("III_DISABLE_PLUGINS", "1")
    plugins = PluginManager()
    plugins.register_module("test-gate", GatePlugin())
    config = parse_config(
        "workers:\n"
        "  - name: iii-worker-manager\n"
        "    config: {host: 127.0.0.1, port: 0}\n"
        "  - name: test-gate\n"
    )
    async with Engine(config, plugins=plugins) as engine:
        yield engine


def gate(engine: Engine) -> GateType:
    worker = engine.builtin("test-gate")
    assert isinstance(worker, GateWorker)
    return worker.type


async def bind(w: RawWorker, binding_id: str, config: Any, **extra: Any) -> None:
    await w.send(
        {
            "type": "registertrigger",
            "id": binding_id,
            "trigger_type": "gate",
            "function_id": "app::on_open",
            "config": config,
            **extra,
        }
    )
    await w.barrier()


async def test_binding_fires_remote_function_with_metadata(gate_engine: Engine) -> None:
    async with raw_worker(gate_engine) as app, raw_worker(gate_engine) as caller:
        await app.register_function("app::on_open")
        await bind(app, "g-1", {}, metadata={"team": "ops"})
        assert set(gate(gate_engine).active) == {"g-1"}
        invocation_id = await caller.invoke("gate::open", {"door": 1})
        fired = await app.invocation("app::on_open")
        # The gate forwards its own payload as-is, with the binding's metadata.
        assert fired["data"] == {"door": 1, "_caller_worker_id": caller.worker_id}
        assert fired["metadata"] == {"team": "ops"}
        await app.reply(fired, "opened")
        assert (await caller.result(invocation_id))["result"] == ["opened"]


async def test_provider_rejection_is_trigger_registration_failed(gate_engine: Engine) -> None:
    async with raw_worker(gate_engine) as app:
        await app.send(
            {
                "type": "registertrigger",
                "id": "g-bad",
                "trigger_type": "gate",
                "function_id": "app::on_open",
                "config": {"reject": True},
            }
        )
        result = await app.recv("triggerregistrationresult")
        assert result == {
            "type": "triggerregistrationresult",
            "id": "g-bad",
            "trigger_type": "gate",
            "function_id": "app::on_open",
            "error": {"code": "trigger_registration_failed", "message": "gate refuses g-bad"},
        }
        assert "g-bad" not in gate_engine.triggers.live
        assert "g-bad" not in gate_engine.triggers.parked


async def test_rejected_replacement_keeps_previous_binding(gate_engine: Engine) -> None:
    # docs/protocol.md 4.3 item 4: a rejected binding is not stored and a previous binding with
    # the same id stays in place.
    async with raw_worker(gate_engine) as app:
        await bind(app, "g-1", {"v": 1})
        await app.send(
            {
                "type": "registertrigger",
                "id": "g-1",
                "trigger_type": "gate",
                "function_id": "app::on_open",
                "config": {"reject": True},
            }
        )
        await app.recv("triggerregistrationresult")
        assert gate_engine.triggers.live["g-1"].config == {"v": 1}
        assert "g-1" in gate(gate_engine).active


async def test_no_success_ack_and_unregister_reaches_provider(gate_engine: Engine) -> None:
    async with raw_worker(gate_engine) as app:
        await bind(app, "g-1", None)
        assert app.inbox == []
        await app.send({"type": "unregistertrigger", "id": "g-1"})
        await app.barrier()
        assert gate(gate_engine).dropped == ["g-1"]
        assert not gate(gate_engine).active


async def test_registrant_disconnect_unregisters_in_process(gate_engine: Engine) -> None:
    app = await open_raw(gate_engine.worker_url)
    await bind(app, "g-1", {})
    await disconnect(gate_engine, app)
    assert gate(gate_engine).dropped == ["g-1"]


async def test_engine_register_trigger_to_in_process_provider(gate_engine: Engine) -> None:
    async with raw_worker(gate_engine) as w:
        out = await w.call_ok(
            "engine::register_trigger",
            {"trigger_type": "gate", "function_id": "app::on_open", "metadata": {"m": 1}},
        )
        assert gate(gate_engine).active[out["id"]].metadata == {"m": 1}
        bad = await w.call(
            "engine::register_trigger",
            {"trigger_type": "gate", "function_id": "f", "config": {"reject": True}},
        )
        assert bad["error"]["code"] == "trigger_registration_failed"
        info = await w.call_ok("engine::triggers::info", {"id": "gate"})
        assert info["worker_name"] == "test-gate"
        assert info["configuration_schema"] == {"type": "object"}
        assert info["instance_count"] == 1
