"""``iii console`` as a subprocess: the URL of a running engine's console."""

from __future__ import annotations

from iii_engine.testing import start_engine
from tests.cli.clirun import iii


def _port(worker_url: str) -> str:
    return worker_url.rsplit(":", 1)[1].split("/", maxsplit=1)[0]


async def test_prints_the_console_url() -> None:
    console = {"name": "iii-console", "config": {"port": 0}}
    async with start_engine(workers=[console]) as engine:
        run = await iii("console", "--port", _port(engine.worker_url))
        port = engine.builtin("iii-console").port  # type: ignore[attr-defined]
    assert run.code == 0, run.err
    assert run.out.strip() == f"http://127.0.0.1:{port}/"


async def test_an_engine_without_a_console_says_so() -> None:
    async with start_engine() as engine:
        run = await iii("console", "--port", _port(engine.worker_url))
    assert run.code == 1
    assert "runs no iii-console" in run.err
