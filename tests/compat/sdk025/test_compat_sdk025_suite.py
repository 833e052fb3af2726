"""The official Python SDK 0.25's own integration tests, run against our engine.

One case per test file of the SDK that needs a live engine (the spec's list of the 0.25
real-engine tests). Each case starts an engine with the built-ins those tests assume
(iii-state, iii-http, iii-pubsub, iii-stream) on free ports and runs the file in a
subprocess of the ``.venv-sdk025`` virtualenv. Every test of the file must pass, except the
ones listed in ``FILES`` (features the engine does not have yet); a listed test that passes
fails this case too, so the list is kept honest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.compat.sdk025.runner import available, run_file

pytestmark = [pytest.mark.compat, pytest.mark.slow, pytest.mark.timeout(300)]

BUILTINS = [
    {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}},
    {"name": "iii-state", "config": {"adapter": {"name": "memory"}}},
    {"name": "iii-http", "config": {"host": "127.0.0.1", "port": 0}},
    {"name": "iii-pubsub"},
    {
        "name": "iii-stream",
        "config": {"host": "127.0.0.1", "port": 0, "adapter": {"name": "memory"}},
    },
    # The RBAC listener and HTTP functions of the SDK's own test config
    # (tests/access/fixtures/config-test.yaml), on free ports.
    {
        "name": "iii-worker-manager",
        "config": {
            "host": "127.0.0.1",
            "port": 0,
            "middleware_function_id": "test::rbac-worker::middleware",
            "rbac": {
                "auth_function_id": "test::rbac-worker::auth",
                "on_function_registration_function_id": "test::rbac-worker::on-function-reg",
                "on_trigger_registration_function_id": "test::rbac-worker::on-trigger-reg",
                "on_trigger_type_registration_function_id": (
                    "test::rbac-worker::on-trigger-type-reg"
                ),
                "expose_functions": [
                    'match("test::ew::public::*")',
                    'match("engine::functions::list")',
                    {"metadata": {"ew_public": True}},
                ],
            },
        },
    },
    {
        "name": "iii-http-functions",
        "config": {
            "security": {
                "url_allowlist": ["localhost", "127.0.0.1"],
                "block_private_ips": False,
                "require_https": False,
            }
        },
    },
]

ALL = {"*"}
"""Marks a file whose every test is a known failure."""

FILES: dict[str, set[str]] = {
    # file -> tests known to fail today (see the README of tests/compat)
    "test_bridge.py": set(),
    "test_observe_e2e_routed.py": set(),
    "test_observe_e2e_local.py": set(),
    "test_api_triggers.py": set(),
    "test_middleware.py": set(),
    "test_healthcheck.py": set(),
    "test_data_channels.py": set(),
    "test_state.py": set(),
    "test_pubsub.py": set(),
    "test_trigger_type_lifecycle.py": set(),
    "test_streams.py": set(),
    "test_http_external_functions_integration.py": set(),
    "test_rbac_workers.py": set(),
}


@pytest.mark.parametrize("test_file", sorted(FILES))
async def test_sdk025_file(test_file: str, tmp_path: Path) -> None:
    """Every test of ``test_file`` passes, except its known failures."""
    missing = available()
    if missing:
        pytest.fail(missing)
    known = FILES[test_file]
    async with start_engine(workers=BUILTINS) as engine:
        outcome = await run_file(test_file, _env(engine), tmp_path / "report.xml")
    assert outcome.results, f"no test ran in {test_file}:\n{outcome.output[-4000:]}"
    failed = outcome.names("failed")
    passed = outcome.names("passed")
    if known == ALL:
        unexpected_pass = passed
        unexpected_fail: set[str] = set()
    else:
        unexpected_pass = passed & known
        unexpected_fail = failed - known
    summary = f"{len(passed)} passed, {len(failed)} failed of {len(outcome.results)}"
    assert not unexpected_fail, (
        f"{test_file}: {summary}; failing: {sorted(unexpected_fail)}\n{outcome.output[-6000:]}"
    )
    assert not unexpected_pass, (
        f"{test_file}: {summary}; now passing, drop them from FILES: {sorted(unexpected_pass)}"
    )


def _env(engine: Engine) -> dict[str, str]:
    http_port = engine.builtin("iii-http").port  # type: ignore[attr-defined]
    url = engine.worker_url
    return {
        "III_URL": url,
        "III_HTTP_URL": f"http://127.0.0.1:{http_port}",
        "III_RBAC_WORKER_URL": engine.worker_urls[1],
    }
