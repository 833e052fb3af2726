"""iii-cron driven by the official Python SDK: a real every-second schedule (about 3 s)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from iii_engine.testing import start_engine
from tests.compat.support import Inbox, OfficialFactory, eventually, wait_for_binding
from tests.plugins.cron.test_cron_realtime import FIRINGS, check_firings

pytestmark = pytest.mark.compat


async def test_official_worker_gets_cron_ticks(official: OfficialFactory) -> None:
    async with start_engine(workers=[{"name": "iii-cron"}]) as engine:
        client = await official(engine, "official-cron")
        inbox = Inbox()
        client.register_function("offpy::tick", inbox.put)
        client.register_trigger(
            {"type": "cron", "function_id": "offpy::tick", "config": {"expression": "* * * * * *"}}
        )
        row = await wait_for_binding(engine, "offpy::tick")
        payloads: list[Any] = [await inbox.get() for _ in range(FIRINGS)]
    check_firings(payloads, row["id"])


async def test_official_sdk_logs_a_rejected_five_field_expression(
    official: OfficialFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="iii")
    async with start_engine(workers=[{"name": "iii-cron"}]) as engine:
        client = await official(engine, "official-cron-bad")
        client.register_function("offpy::never", lambda payload: None)
        client.register_trigger(
            {"type": "cron", "function_id": "offpy::never", "config": {"expression": "*/5 * * * *"}}
        )

        async def logged() -> bool:
            return any(
                "Invalid cron expression '*/5 * * * *'" in record.getMessage()
                and "'0 */5 * * * *'" in record.getMessage()
                for record in caplog.records
            )

        await eventually(logged, "the SDK to log the rejected expression")
