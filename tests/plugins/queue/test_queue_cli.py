"""``iii queue`` run as a subprocess against a running engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlparse

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.cli.clirun import free_port, iii
from tests.plugins.queue.queue_helpers import Inbox, counts, enqueue, until

ConnectWorker = Callable[..., Awaitable[Worker]]

QUEUE = {
    "name": "iii-queue",
    "config": {
        "adapter": {"name": "memory"},
        "queue_configs": {"mail": {"max_retries": 1, "backoff_ms": 0}},
    },
}


@pytest.fixture
async def engine_port() -> AsyncIterator[tuple[Engine, str]]:
    async with start_engine(workers=[QUEUE]) as engine:
        yield engine, str(urlparse(engine.worker_url).port)


async def test_list_dlq_redrive_discard(
    engine_port: tuple[Engine, str], iii_worker: ConnectWorker
) -> None:
    engine, port = engine_port
    worker = await iii_worker(engine, name="w")
    healthy: list[bool] = []
    inbox = Inbox(fail=lambda _: not healthy)
    worker.register_function("mail::send", inbox)
    first = await enqueue(worker, "mail", "mail::send", {"to": "a"})
    second = await enqueue(worker, "mail", "mail::send", {"to": "b"})

    async def both_dead() -> bool:
        return (await counts(worker, "mail"))["dead_lettered"] == 2

    await until(both_dead, "two dead letters")
    assert {(await inbox.next())["to"], (await inbox.next())["to"]} == {"a", "b"}

    listing = await iii("queue", "--port", port)
    assert listing.code == 0, listing.err
    assert listing.out.splitlines()[0].split() == [
        "QUEUE",
        "KIND",
        "WAITING",
        "IN",
        "FLIGHT",
        "DEAD",
    ]
    assert ["mail", "queue", "0", "0", "2"] in [line.split() for line in listing.out.splitlines()]

    dlq = await iii("queue", "dlq", "mail", "--port", port, "--json")
    assert dlq.code == 0, dlq.err
    assert {row["id"] for row in json.loads(dlq.out)} == {first, second}
    text = await iii("queue", "dlq", "mail", "--port", port)
    assert first in text.out and "failing on purpose" in text.out

    discard = await iii("queue", "discard", "mail", second, "--port", port)
    assert (discard.code, discard.out) == (0, "discarded 1 message(s) of mail\n")
    healthy.append(True)
    redrive = await iii("queue", "--port", port, "redrive", "mail")
    assert (redrive.code, redrive.out) == (0, "redriven 1 message(s) of mail\n")
    assert await inbox.next() == {"to": "a"}


async def test_unreachable_engine_exits_1() -> None:
    run = await iii("queue", "--port", str(free_port()), "--timeout-ms", "300")
    assert run.code == 1
    assert run.err.startswith("Error: no engine answering at ws://localhost:")
