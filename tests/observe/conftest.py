"""Raw 0.25 workers (declaring ``observe.v1``) and 0.23 ones on one engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from iii_engine.engine import Engine
from tests.raw_client import RawWorker, open_raw

FEATURES = ["observe.v1", "local-dispatch.v1", "large-messages.v1"]

Connect = Callable[..., Awaitable[RawWorker]]


@pytest.fixture
async def raw() -> AsyncIterator[Connect]:
    """``await raw(engine, name, features=FEATURES)``: a registered raw worker."""
    async with AsyncExitStack() as stack:

        async def connect(
            engine: Engine, name: str, *, features: list[str] | None = FEATURES, **extra: Any
        ) -> RawWorker:
            worker = await open_raw(engine.worker_url)
            stack.push_async_callback(worker.close)
            fields: dict[str, Any] = dict(extra)
            if features is not None:
                fields["features"] = features
            outcome = await worker.register_worker(name, **fields)
            assert outcome.get("result") == {"success": True}, outcome
            return worker

        yield connect


async def observe(
    worker: RawWorker, observer_id: str, source: str, target: str, **extra: Any
) -> Any:
    """Send ``observe`` and return its ``observeresult``."""
    options = {
        k: v for k, v in extra.items() if k not in ("filters", "capture", "on", "deliver", "args")
    }
    src: dict[str, Any] = {"function_id": source}
    for key in ("filters", "capture", "on", "deliver", "args"):
        if key in extra:
            src[key] = extra[key]
    await worker.send(
        {
            "type": "observe",
            "id": observer_id,
            "source": src,
            "target": {"function_id": target},
            **options,
        }
    )
    return await worker.recv("observeresult", lambda f: f["id"] == observer_id)


async def state_change(worker: RawWorker, observer_id: str, state: str) -> Any:
    """The next ``observerstatechanged`` of ``observer_id`` to ``state``."""
    return await worker.recv(
        "observerstatechanged", lambda f: f["id"] == observer_id and f["state"] == state
    )
