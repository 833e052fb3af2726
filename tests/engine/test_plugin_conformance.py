"""A plugin's worker and trigger types must subclass the ``iii_sdk.plugin`` protocols.

Objects that only match structurally are refused when the engine receives them, with a message
naming the class and the fix, instead of an ``AttributeError`` on an optional member later.
"""

from __future__ import annotations

from typing import Any

import pytest

from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import BuiltinWorker, Trigger, WorkerContext, WorkerRegistry, WorkerSpec


class LooseWorker:
    """Has ``start``/``stop`` but does not subclass :class:`BuiltinWorker`."""

    def __init__(self, config: Any) -> None:
        pass

    async def start(self, ctx: WorkerContext) -> None:
        pass

    async def stop(self) -> None:
        pass


class LooseType:
    """A trigger type that does not subclass ``TriggerType``."""

    id = "loose"
    description = "structural only"

    async def register_trigger(self, trigger: Trigger) -> None:
        pass

    async def unregister_trigger(self, trigger: Trigger) -> None:
        pass


class LooseTypeWorker(BuiltinWorker):
    def __init__(self, config: Any) -> None:
        pass

    async def start(self, ctx: WorkerContext) -> None:
        ctx.register_trigger_type(LooseType())  # type: ignore[arg-type]

    async def stop(self) -> None:
        pass


class Plugin:
    @hookimpl
    def iii_register_workers(self, registry: WorkerRegistry) -> None:
        registry.add(WorkerSpec(name="loose-worker", factory=LooseWorker))  # type: ignore[arg-type]
        registry.add(WorkerSpec(name="loose-type", factory=LooseTypeWorker))


def _engine(name: str) -> Engine:
    plugins = PluginManager()
    plugins.register_module("loose", Plugin())
    config = parse_config(
        f"workers:\n  - name: iii-worker-manager\n    config: {{port: 0}}\n  - name: {name}\n"
    )
    return Engine(config, plugins=plugins)


async def test_worker_not_subclassing_builtin_worker_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("III_DISABLE_PLUGINS", "1")
    with pytest.raises(TypeError) as caught:
        async with _engine("loose-worker"):
            pass
    message = str(caught.value)
    assert "worker 'loose-worker'" in message
    assert "LooseWorker must subclass iii_sdk.plugin.BuiltinWorker" in message
    assert "class LooseWorker(BuiltinWorker):" in message


async def test_trigger_type_not_subclassing_trigger_type_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("III_DISABLE_PLUGINS", "1")
    with pytest.raises(TypeError) as caught:
        async with _engine("loose-type"):
            pass
    message = str(caught.value)
    assert "worker 'loose-type': trigger type" in message
    assert "LooseType must subclass iii_sdk.plugin.TriggerType" in message
