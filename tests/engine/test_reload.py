"""Hot reload: only added, removed and changed entries stop or start.

See docs/configuration.md, Hot reload.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_sdk.errors import ConfigError

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def config_text(*entries: dict[str, object]) -> str:
    listener = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}
    return yaml.safe_dump({"workers": [listener, *entries]})


async def functions(engine: Engine) -> set[str]:
    rows = await engine.invoke("engine::functions::list", {})
    return {row["function_id"] for row in rows["functions"]}


async def test_only_changed_entries_restart(tmp_path: Path) -> None:
    state = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}
    pubsub = {"name": "iii-pubsub"}
    sleeper = {"name": "sleeper", "command": SLEEPER}
    first = parse_config(config_text(state, pubsub, sleeper), base_dir=tmp_path)
    async with Engine(first) as engine:
        listener = engine.listeners[0]
        state_worker, pubsub_worker = engine.builtin("iii-state"), engine.builtin("iii-pubsub")
        pid = await engine.supervisor.spawned("sleeper")
        await engine.invoke("state::set", {"scope": "s", "key": "k", "value": 1})

        changed_state = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}
        changed_state["config"]["max_value_bytes"] = 1000  # type: ignore[index]
        ticker = {"name": "iii-ticker"}
        second = parse_config(config_text(changed_state, sleeper, ticker), base_dir=tmp_path)
        await engine.apply_reload(second)

        assert engine.listeners == [listener]  # unchanged listener keeps its sockets
        assert engine.supervisor.pid("sleeper") == pid  # unchanged process keeps its pid
        assert engine.builtin("iii-state") is not state_worker  # changed: restarted
        with pytest.raises(KeyError):
            engine.builtin("iii-pubsub")  # removed
        assert engine.builtin("iii-ticker") is not None  # added
        assert pubsub_worker is not None
        names = await functions(engine)
        assert "state::get" in names
        assert "publish" not in names
        triggers = await engine.invoke("engine::triggers::list", {})
        assert {"state", "ticker"} <= {t["id"] for t in triggers["triggers"]}
        assert "subscribe" not in {t["id"] for t in triggers["triggers"]}


async def test_changed_process_restarts_with_a_new_pid(tmp_path: Path) -> None:
    first = parse_config(config_text({"name": "p", "command": SLEEPER}), base_dir=tmp_path)
    async with Engine(first) as engine:
        pid = await engine.supervisor.spawned("p")
        changed = {"name": "p", "command": SLEEPER, "env": {"X": "1"}}
        await engine.apply_reload(parse_config(config_text(changed), base_dir=tmp_path))
        assert await engine.supervisor.spawned("p") != pid


async def test_invalid_reload_changes_nothing(tmp_path: Path) -> None:
    first = parse_config(config_text({"name": "iii-pubsub"}), base_dir=tmp_path)
    async with Engine(first) as engine:
        pubsub = engine.builtin("iii-pubsub")
        bad = parse_config(config_text({"name": "no-such-worker"}), base_dir=tmp_path)
        with pytest.raises(ConfigError, match=r"workers\[1\]\.name"):
            await engine.apply_reload(bad)
        assert engine.builtin("iii-pubsub") is pubsub
        assert "publish" in await functions(engine)


async def test_bindings_survive_a_provider_restart(tmp_path: Path) -> None:
    # A binding on a restarted built-in's trigger type is parked, then replayed to the new one.
    state = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}
    async with Engine(parse_config(config_text(state), base_dir=tmp_path)) as engine:
        await engine.invoke(
            "engine::register_trigger",
            {"trigger_type": "state", "function_id": "x::y", "config": {"scope": "s"}},
        )
        assert len(engine.triggers.live) == 1
        changed = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}
        changed["config"]["triggers_enabled"] = True  # type: ignore[index]
        changed["config"]["max_value_bytes"] = 10  # type: ignore[index]
        await engine.apply_reload(parse_config(config_text(changed), base_dir=tmp_path))
        (binding,) = engine.triggers.live.values()
        assert binding.provider is not None
        assert binding.provider.provider is not None
        assert not engine.triggers.parked


async def test_a_builtin_declared_twice_is_a_config_error(tmp_path: Path) -> None:
    twice = parse_config(config_text({"name": "iii-http"}, {"name": "iii-http"}), base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"workers\[2\]\.name: iii-http is already declared"):
        async with Engine(twice):
            pass
