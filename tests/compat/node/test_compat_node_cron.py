"""iii-cron driven by the official Node SDK: a real every-second schedule (about 3 s)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iii_engine.testing import start_engine
from tests.plugins.cron.test_cron_realtime import check_firings

pytestmark = pytest.mark.compat


async def test_node_worker_gets_cron_ticks(node: Any) -> None:
    async with start_engine(workers=[{"name": "iii-cron"}]) as engine:
        worker = await node(engine, "cron.mjs")
        payloads = [json.loads(await worker.expect("TICK")) for _ in range(2)]
    check_firings(payloads, payloads[0]["job_id"])
