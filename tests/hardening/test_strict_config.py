"""Strict config: unknown entry keys, duplicate YAML keys, files that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from iii_engine.config.schema import load_config, parse_config
from iii_sdk.errors import ConfigError
from tests.cli.clirun import iii


def test_misspelt_config_key_names_the_path_and_suggests() -> None:
    text = "workers:\n  - name: iii-worker-manager\n    confg:\n      port: 0\n"
    with pytest.raises(ConfigError, match=r"^workers\[0\]\.confg: unknown key") as caught:
        parse_config(text)
    assert "did you mean 'config'?" in str(caught.value)


def test_unknown_key_on_a_later_modules_entry() -> None:
    text = "workers:\n  - name: iii-state\nmodules:\n  - name: iii-http\n    ports: 3\n"
    with pytest.raises(ConfigError, match=r"^modules\[0\]\.ports: unknown key"):
        parse_config(text)


def test_upstream_worker_path_is_still_accepted() -> None:
    config = parse_config("workers:\n  - name: my-worker\n    worker_path: ./w\n")
    assert config.workers[0].name == "my-worker"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("workers: []\nworkers: []\n", "workers"),
        ("workers:\n  - name: a\n    name: b\n", r"workers\[0\]\.name"),
        (
            "workers:\n  - name: iii-http\n    config:\n      port: 1\n      port: 2\n",
            r"workers\[0\]\.config\.port",
        ),
        (
            "workers:\n  - name: x\n  - name: iii-state\n    config:\n      adapter:\n"
            "        name: memory\n        name: kv\n",
            r"workers\[1\]\.config\.adapter\.name",
        ),
    ],
)
def test_duplicate_yaml_keys_are_errors_naming_the_path(text: str, path: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{path}: duplicate key \(first at line \d+"):
        parse_config(text)


def test_anchors_and_merge_keys_still_load() -> None:
    text = (
        "x: &base {a: 1}\nworkers:\n  - name: iii-http\n    config:\n      <<: *base\n"
        "      port: 0\n"
    )
    with pytest.raises(ConfigError, match="unknown top-level key"):
        parse_config(text)  # the anchor key itself is not allowed at the top level
    text = "workers:\n  - &w {name: iii-state}\n  - *w\n"
    assert [w.instance_id for w in parse_config(text).workers] == ["iii-state", "iii-state#1"]


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(b"workers:\n  - name: iii-state # caf\xe9\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xe9 at offset \d+\)"):
        load_config(config)


@pytest.mark.parametrize("command", [[], ["check-config"]])
async def test_cli_prints_one_error_line_for_a_non_utf8_file(
    tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(b"workers:\n  - name: iii-state\n\xff\xfe\n")
    args = [*command, str(config)] if command else ["--config", str(config)]
    run = await iii(*args)
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("Error: ")
    assert str(config) in lines[0]
    assert "Traceback" not in run.err
