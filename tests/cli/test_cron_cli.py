"""``iii cron ls`` as a subprocess against a running engine."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from iii_engine.testing import start_engine
from tests.cli.clirun import free_port, iii


def port_of(url: str) -> str:
    return str(urlparse(url).port)


async def test_cron_ls_lists_jobs_with_next_three_runs(iii_worker: Any) -> None:
    async with start_engine(workers=[{"name": "iii-cron"}]) as engine:
        client = await iii_worker(engine)
        client.register_function("reports::daily", lambda payload: None)
        client.register_function("reports::tick", lambda payload: None)
        daily = client.register_trigger(
            "cron", "reports::daily", {"expression": "0 30 9 * * Mon-Fri", "timezone": "Asia/Tokyo"}
        )
        client.register_trigger("cron", "reports::tick", {"expression": "*/10 * * * * *"})
        await client.trigger({"function_id": "engine::functions::list", "payload": {}})
        port = port_of(engine.worker_url)
        run = await iii("cron", "ls", "--port", port)
        assert run.code == 0, run.err
        lines = run.out.splitlines()
        assert lines[0].split() == [
            "FUNCTION",
            "EXPRESSION",
            "TIMEZONE",
            "NEXT",
            "RUNS",
            "TRIGGER",
            "ID",
        ]
        assert lines[1].startswith("reports::daily  0 30 9 * * Mon-Fri  Asia/Tokyo")
        assert daily.id in lines[1]
        assert lines[2].startswith("reports::tick")
        assert lines[1].count("T09:30:00+09:00") == 3

        as_json = await iii("cron", "ls", "--json", "--count", "5", "--port", port)
        jobs = json.loads(as_json.out)
        tick = next(job for job in jobs if job["function_id"] == "reports::tick")
        times = [datetime.fromisoformat(t) for t in tick["next_runs"]]
        assert len(times) == 5
        assert all(t.second % 10 == 0 for t in times)


async def test_cron_ls_without_iii_cron(iii_worker: Any) -> None:
    async with start_engine() as engine:
        run = await iii("cron", "ls", "--port", port_of(engine.worker_url))
    assert run.code == 1
    assert "runs no iii-cron worker" in run.err


async def test_cron_ls_empty_and_unreachable() -> None:
    async with start_engine(workers=[{"name": "cron"}]) as engine:
        run = await iii("cron", "ls", "--port", port_of(engine.worker_url))
    assert (run.code, run.out.strip()) == (0, "no cron triggers")
    run = await iii("cron", "ls", "--port", str(free_port()), "--timeout-ms", "300")
    assert run.code == 1
    assert run.err.startswith("Error: no engine answering at ws://localhost:")


async def test_cron_needs_an_action() -> None:
    run = await iii("cron")
    assert run.code == 2
