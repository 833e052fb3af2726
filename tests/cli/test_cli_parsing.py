"""In-process checks of the command line's plumbing: dispatch, config resolution, logging."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from iii_engine.cli._logsetup import JsonFormatter
from iii_engine.cli.main import _command_index, resolve_config


@pytest.mark.parametrize(
    ("argv", "index"),
    [
        (["trigger", "a::b"], 0),
        (["--log-level", "debug", "t", "a::b"], 2),
        (["-c", "x.yaml", "--log-format=json", "status"], 3),
        (["--config", "x.yaml"], None),
        ([], None),
    ],
)
def test_command_index_skips_global_options(argv: list[str], index: int | None) -> None:
    assert _command_index(argv) == index


def test_resolve_config_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("III_CONFIG", raising=False)
    assert resolve_config(None).from_file is False
    assert not (tmp_path / "config.yaml").exists()  # nothing is created

    (tmp_path / "config.yaml").write_text("workers:\n  - name: from-cwd\n    command: [x]\n")
    (tmp_path / "env.yaml").write_text("workers:\n  - name: from-env\n    command: [x]\n")
    (tmp_path / "flag.yaml").write_text("workers:\n  - name: from-flag\n    command: [x]\n")
    assert resolve_config(None).workers[0].name == "from-cwd"
    monkeypatch.setenv("III_CONFIG", str(tmp_path / "env.yaml"))
    assert resolve_config(None).workers[0].name == "from-env"
    assert resolve_config(str(tmp_path / "flag.yaml")).workers[0].name == "from-flag"


def test_json_log_lines() -> None:
    record = logging.LogRecord("iii.engine", logging.WARNING, __file__, 1, "hi %s", ("x",), None)
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("warning", "iii.engine", "hi x")
    assert line["ts"].endswith("Z")
