"""Suggestions for likely typos in config: worker names, keys; built-ins not provided yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from iii_engine.config.plan import make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import load_config, parse_config
from iii_engine.config.suggest import did_you_mean, unavailable_builtin
from iii_sdk.errors import ConfigError


@pytest.fixture
def only_http(monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    """A plugin registry with only the ``http`` plugin: ``iii-state`` is "not provided yet"."""
    monkeypatch.setenv("III_PLUGINS", "http")
    manager = PluginManager()
    manager.load()
    return manager


def _plan_error(text: str, plugins: PluginManager) -> str:
    with pytest.raises(ConfigError) as info:
        make_plan(parse_config(text), plugins)
    return str(info.value)


def test_typo_in_a_worker_name_suggests_the_built_in(only_http: PluginManager) -> None:
    message = _plan_error("workers:\n  - name: iii-htp\n", only_http)
    assert message.startswith("workers[0].name: unknown worker 'iii-htp'; did you mean iii-http?")


def test_a_built_in_not_provided_yet_says_so(only_http: PluginManager) -> None:
    for name in ("iii-state", "state", "iii-cron", "queue", "iii-console"):
        message = _plan_error(f"workers:\n  - name: {name}\n", only_http)
        assert f"{name!r} is an iii built-in that this engine does not provide yet" in message
        assert "did you mean" not in message


def test_a_typo_of_a_built_in_not_provided_yet(only_http: PluginManager) -> None:
    message = _plan_error("workers:\n  - name: iii-stat\n", only_http)
    assert "did you mean iii-state? (not available in this engine yet)" in message


def test_the_not_provided_list_follows_the_plugin_registry(only_http: PluginManager) -> None:
    assert unavailable_builtin("iii-state", only_http) == "iii-state"
    assert unavailable_builtin("iii-http", only_http) is None
    assert unavailable_builtin("http", only_http) is None
    assert unavailable_builtin("not-a-built-in", only_http) is None


def test_no_suggestion_for_a_name_far_from_everything(only_http: PluginManager) -> None:
    message = _plan_error("workers:\n  - name: zzzzzz\n", only_http)
    assert "did you mean" not in message
    assert "a worker process needs `command:`" in message


def test_unknown_keys_suggest_the_closest(only_http: PluginManager) -> None:
    text = "workers:\n  - name: iii-http\n    config: {prot: 1}\n"
    assert _plan_error(text, only_http) == (
        "workers[0].config.prot: unknown key (did you mean port?)"
    )
    text = "workers:\n  - name: iii-http\n    config: {cors: {allowed_origin: []}}\n"
    assert _plan_error(text, only_http) == (
        "workers[0].config.cors.allowed_origin: unknown key (did you mean allowed_origins?)"
    )
    with pytest.raises(ConfigError) as info:
        parse_config("wokers: []\n")
    assert str(info.value).startswith("wokers: unknown top-level key (did you mean workers?)")


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("workers:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: invalid YAML: ")


def test_did_you_mean() -> None:
    assert did_you_mean("math::ad", ["math::add", "state::get"]) == " (did you mean math::add?)"
    assert did_you_mean("math::add", ["math::add"]) == ""
    assert did_you_mean("x", ["state::get"]) == ""
