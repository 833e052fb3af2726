"""The ``rbac`` block: filters and errors naming their key path, checked before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from iii_engine.access.rbac_config import parse_rbac
from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_sdk.errors import ConfigError


def config_with(rbac: Any) -> str:
    return yaml.safe_dump(
        {
            "workers": [
                {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}},
                {
                    "name": "iii-worker-manager",
                    "config": {"host": "127.0.0.1", "port": 0, "rbac": rbac},
                },
            ]
        }
    )


@pytest.mark.parametrize(
    ("rbac", "where", "message"),
    [
        ({"expose_functions": ["public::*"]}, "expose_functions[0]", "expected match("),
        (
            {"expose_functions": [{"match": "a", "metadata": {"b": 1}}]},
            "expose_functions[0]",
            "one",
        ),
        ({"expose_functions": [{}]}, "expose_functions[0]", "exactly one"),
        ({"expose_functions": [{"glob": "a"}]}, "expose_functions[0].glob", "unknown key"),
        ({"expose_functions": [{"metadata": {}}]}, "expose_functions[0].metadata", "non-empty"),
        (
            {"expose_functions": [{"match": "a", "namespace": " "}]},
            "expose_functions[0].namespace",
            "",
        ),
        ({"expose_functions": "match('a')"}, "expose_functions", "list"),
        ({"auth_function_id": 3}, "auth_function_id", "function id"),
        ({"auth": "x"}, "auth", "unknown key"),
        (["x"], "", "mapping"),
    ],
)
async def test_malformed_rbac_names_the_key_path(rbac: Any, where: str, message: str) -> None:
    config = parse_config(config_with(rbac), base_dir=Path.cwd())
    with pytest.raises(ConfigError) as caught:
        async with Engine(config):
            pass
    expected = "workers[1].config.rbac" + (f".{where}" if where else "")
    assert caught.value.path == expected
    assert message in str(caught.value)


def test_filter_forms() -> None:
    rbac = parse_rbac(
        {
            "expose_functions": [
                'match("a::*")',
                {"match": 'match("b::*")'},
                {"match": "c::exact", "namespace": "ns"},
                {"metadata": {"k": 'match("v*")', "n": [1, {"x": True}]}},
            ]
        },
        "rbac",
    )
    assert rbac is not None
    assert rbac.exposes("a::x", "default", None)
    assert rbac.exposes("b::y", "default", None)
    assert rbac.exposes("c::exact", "ns", None) and not rbac.exposes("c::exactly", "ns", None)
    assert not rbac.exposes("c::exact", "default", None)
    assert rbac.exposes("z", "default", {"k": "value", "n": [1, {"x": True}]})
    assert not rbac.exposes("z", "default", {"k": "value", "n": [1, {"x": 1}]})
    assert not rbac.exposes("z", "default", {"k": 7, "n": [1, {"x": True}]})
    assert not rbac.exposes("a.x", "default", None)  # only * is special


def test_check_config_reports_rbac_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from iii_engine.cli.info import check_config

    path = tmp_path / "config.yaml"
    path.write_text(config_with({"expose_functions": ["nope"]}))
    assert check_config(path) == 1
    assert "workers[1].config.rbac.expose_functions[0]" in capsys.readouterr().err
