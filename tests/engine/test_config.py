"""config.yaml parsing: env expansion, entries, process fields, and errors that name their path."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from iii_engine._version import ENGINE_VERSION
from iii_engine.config.plan import Plan, diff_plans, make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import (
    WorkerManagerConfig,
    decode_block,
    default_config,
    expand_env,
    load_config,
    parse_config,
)
from iii_sdk.errors import ConfigError

# --- environment expansion -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("port: ${PORT}", {"PORT": "8080"}, "port: 8080"),
        ("port: ${PORT:3111}", {}, "port: 3111"),
        ("port: ${PORT:3111}", {"PORT": "9"}, "port: 9"),
        ("v: ${EMPTY:fallback}", {"EMPTY": ""}, "v: "),
        ("v: ${X:}", {}, "v: "),
        ("v: ${X:-y}", {}, "v: -y"),
        ("url: redis://${H:localhost}:${P:6379}/0", {}, "url: redis://localhost:6379/0"),
        ("# ${C:in a comment}", {}, "# in a comment"),
        ("v: $X and {X}", {}, "v: $X and {X}"),
    ],
)
def test_expand_env(text: str, env: dict[str, str], expected: str) -> None:
    assert expand_env(text, env) == expected


def test_expand_env_version_placeholder() -> None:
    assert expand_env("v: ${NOPE:__III_ENGINE_VERSION__}", {}) == f"v: {ENGINE_VERSION}"


def test_missing_variable_without_default_names_it() -> None:
    with pytest.raises(ConfigError, match="'III_TEST_UNSET_VAR'"):
        expand_env("port: ${III_TEST_UNSET_VAR}", {})


def test_parse_config_expands_before_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("III_TEST_PORT", "4567")
    config = parse_config(
        "workers:\n  - name: iii-worker-manager\n    config: {port: ${III_TEST_PORT}}\n"
    )
    assert config.workers[0].config == {"port": 4567}


# --- structure ---------------------------------------------------------------------------------


def test_empty_text_is_an_empty_config(tmp_path: Path) -> None:
    config = parse_config("", base_dir=tmp_path)
    assert config.workers == []
    assert config.from_file is True
    assert config.base_dir == tmp_path.resolve()
    assert config.registration_namespace_grace_ms == 5000


def test_default_config_is_not_from_a_file() -> None:
    config = default_config()
    assert config.from_file is False
    assert config.path is None
    assert config.workers == []


def test_modules_are_appended_after_workers() -> None:
    config = parse_config(
        "modules:\n  - name: m1\n    command: [x]\nworkers:\n  - name: w1\n    command: [y]\n"
    )
    assert [(e.name, e.path, e.index) for e in config.workers] == [
        ("w1", "workers[0]", 0),
        ("m1", "modules[0]", 1),
    ]


def test_duplicate_names_get_instance_suffixes() -> None:
    config = parse_config(
        "workers:\n"
        "  - name: iii-worker-manager\n"
        "  - name: iii-state\n"
        "  - name: iii-worker-manager\n"
        "    config: {port: 1}\n"
        "  - name: iii-worker-manager\n"
    )
    assert [e.instance_id for e in config.workers] == [
        "iii-worker-manager",
        "iii-state",
        "iii-worker-manager#1",
        "iii-worker-manager#2",
    ]
    assert config.entry("iii-worker-manager#1") is config.workers[2]


def test_unknown_top_level_key_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("workers: []\nworkerz: []\n")
    assert info.value.path == "workerz"


def test_grace_ms_is_read_and_checked() -> None:
    assert parse_config("registration_namespace_grace_ms: 10").registration_namespace_grace_ms == 10
    with pytest.raises(ConfigError, match="registration_namespace_grace_ms"):
        parse_config("registration_namespace_grace_ms: soon")


def test_configuration_and_telemetry_entries_are_ignored() -> None:
    config = parse_config(
        "workers:\n  - name: configuration\n    config: {adapter: {name: fs}}\n"
        "  - name: iii-telemetry\n  - name: iii-state\n"
    )
    assert [e.name for e in config.workers] == ["iii-state"]


def test_extra_entry_keys_are_ignored() -> None:
    config = parse_config("workers:\n  - name: foo\n    worker_path: ./foo\n    image: x/y:1\n")
    assert config.workers[0].image == "x/y:1"
    assert not config.workers[0].is_process


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("workers: {name: x}\n", "workers"),
        ("workers:\n  - just-a-string\n", "workers[0]"),
        ("workers:\n  - config: {}\n", "workers[0].name"),
        ("workers:\n  - name: a\n  - name: b\n    image: 3\n", "workers[1].image"),
        ("workers:\n  - name: a\n    command: 5\n", "workers[0].command"),
        ("workers:\n  - name: a\n    command: [python, 2]\n", "workers[0].command[1]"),
        ("workers:\n  - name: a\n    command: ''\n", "workers[0].command"),
        ("workers:\n  - name: a\n    command: [x]\n    restart: sometimes\n", "workers[0].restart"),
        ("workers:\n  - name: a\n    command: [x]\n    env: {K: [1]}\n", "workers[0].env.K"),
        ("workers:\n  - name: a\n    command: [x]\n    watch: '*.py'\n", "workers[0].watch"),
        ("workers:\n  - name: iii-exec\n", "workers[0].config"),
        ("workers:\n  - name: iii-exec\n    config: {exec: []}\n", "workers[0].config.exec"),
    ],
)
def test_errors_name_the_entry_and_key(text: str, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")


def test_invalid_yaml_and_non_mapping_top_level() -> None:
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_config("workers: [\n")
    with pytest.raises(ConfigError, match="mapping"):
        parse_config("- a\n- b\n")


@pytest.mark.parametrize(("old", "new"), [("iii-http", "http"), ("iii-state", "state")])
def test_both_names_of_a_migrated_pair_are_an_error(old: str, new: str) -> None:
    with pytest.raises(ConfigError, match=f"'{old}' and '{new}'") as info:
        parse_config(f"workers:\n  - name: {old}\n  - name: {new}\n")
    assert info.value.path == "workers[1]"


# --- process entries -----------------------------------------------------------------------------


def test_command_entry_fields(tmp_path: Path) -> None:
    (tmp_path / "workers").mkdir()
    config = parse_config(
        "workers:\n"
        "  - name: math-worker\n"
        "    command: python math_worker.py --label 'a b'\n"
        "    cwd: workers\n"
        "    env: {LOG_LEVEL: info, N: 3, DEBUG: true}\n"
        "    restart: always\n"
        "    watch: ['workers/**/*.py']\n",
        base_dir=tmp_path,
    )
    entry = config.workers[0]
    assert entry.is_process
    assert entry.command == ["python", "math_worker.py", "--label", "a b"]
    assert entry.cwd == (tmp_path / "workers").resolve()
    assert entry.env == {"LOG_LEVEL": "info", "N": "3", "DEBUG": "true"}
    assert entry.restart == "always"
    assert entry.watch == [str(tmp_path.resolve() / "workers" / "**" / "*.py")]


def test_command_entry_defaults(tmp_path: Path) -> None:
    entry = parse_config("workers:\n  - name: w\n    command: [node, w.mjs]\n", base_dir=tmp_path)
    assert entry.workers[0].cwd == tmp_path.resolve()
    assert entry.workers[0].restart == "on-failure"
    assert entry.workers[0].env == {}


def test_exec_entry_reads_the_upstream_block(tmp_path: Path) -> None:
    config = parse_config(
        "workers:\n  - name: iii-exec\n    config:\n"
        "      exec: ['npm install', 'node w.mjs']\n      watch: ['src/*.ts']\n",
        base_dir=tmp_path,
    )
    entry = config.workers[0]
    assert entry.is_process
    assert entry.command is None
    assert entry.exec == ["npm install", "node w.mjs"]
    assert entry.watch == [str(tmp_path.resolve() / "src" / "*.ts")]
    assert entry.restart == "never"
    assert entry.cwd is None


def test_definition_ignores_position() -> None:
    first = parse_config("workers:\n  - name: a\n    config: {x: 1, y: 2}\n  - name: b\n")
    second = parse_config("workers:\n  - name: b\n  - name: a\n    config: {y: 2, x: 1}\n")
    assert first.workers[0].definition() == second.workers[1].definition()
    assert first.workers[0].definition() != second.workers[0].definition()


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    file = tmp_path / "config.yaml"
    file.write_text("workers:\n  - name: iii-state\n")
    config = load_config(file)
    assert config.path == file.resolve()
    assert config.base_dir == tmp_path.resolve()
    assert [e.name for e in config.workers] == ["iii-state"]
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")


# --- decode_block ---------------------------------------------------------------------------


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    port: int
    tags: list[str] = []


def test_decode_block_defaults_and_values() -> None:
    assert decode_block(None, WorkerManagerConfig, "w") == WorkerManagerConfig()
    manager = decode_block({"port": 1, "host": "127.0.0.1"}, WorkerManagerConfig, "w")
    assert (manager.port, manager.host, manager.handshake_timeout_ms) == (1, "127.0.0.1", 10000)


@pytest.mark.parametrize(
    ("block", "path", "message"),
    [
        ({"port": "x"}, "workers[2].config.port", "expected int, got str"),
        ({"port": 1, "tags": ["a", 2]}, "workers[2].config.tags[1]", "expected str, got int"),
        ({"port": 1, "extra": 1}, "workers[2].config.extra", "unknown key"),
        ({}, "workers[2].config.port", "missing required key"),
        ([1], "workers[2].config", "expected object, got array"),
    ],
)
def test_decode_block_errors_name_the_path(block: object, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        decode_block(block, Inner, "workers[2].config")
    assert info.value.path == path
    assert str(info.value) == f"{path}: {message}"


def test_worker_manager_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match=r"workers\[0\]\.config\.prot: unknown key"):
        decode_block({"prot": 1}, WorkerManagerConfig, "workers[0].config")


# --- reload diffs (diff_plans) ---------------------------------------------------------------


_PLUGINS = PluginManager()


def _plan(text: str, base_dir: Path) -> Plan:
    _PLUGINS.load()
    return make_plan(parse_config(text, base_dir=base_dir), _PLUGINS)


def test_reload_diff_by_instance_id(tmp_path: Path) -> None:
    old = _plan(
        "workers:\n"
        "  - name: iii-state\n"
        "  - name: iii-http\n    config: {port: 1}\n"
        "  - name: w\n    command: [python, w.py]\n"
        "  - name: gone\n    command: [x]\n",
        tmp_path,
    )
    new = _plan(
        "workers:\n"
        "  - name: w\n    command: [python, w.py]\n"
        "  - name: iii-http\n    config: {port: 2}\n"
        "  - name: iii-state\n"
        "  - name: fresh\n    command: [y]\n",
        tmp_path,
    )
    diff = diff_plans(old, new)
    assert (diff.stop_builtins, diff.start_builtins) == (["iii-http"], ["iii-http"])
    assert (diff.stop_processes, diff.start_processes) == (["gone"], ["fresh"])
    same = diff_plans(new, new)
    assert not (same.stop_builtins or same.start_builtins or same.stop_processes)


def test_reload_diff_sees_process_field_changes(tmp_path: Path) -> None:
    old = _plan("workers:\n  - name: w\n    command: [a]\n", tmp_path)
    new = _plan("workers:\n  - name: w\n    command: [a]\n    env: {K: v}\n", tmp_path)
    diff = diff_plans(old, new)
    assert (diff.stop_processes, diff.start_processes) == (["w"], ["w"])
