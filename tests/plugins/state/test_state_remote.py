"""iii-state unchanged in a separate worker (over the wire) (docs/sdk.md, RemoteContext)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from iii_engine.engine import Engine
from iii_sdk import Worker
from plugins.state.config import AdapterConfig, StateConfig
from plugins.state.worker import StateWorker
from tests.announcing import AnnouncingContext
from tests.plugins.state.state_helpers import Recorder, call, event

Connect = Callable[..., Awaitable[Worker]]


async def test_state_worker_runs_out_of_process(
    iii_engine: Engine, iii_worker: Connect, tmp_path: Path
) -> None:
    host = Worker(iii_engine.worker_url, name="remote-state")
    ready: asyncio.Queue[str] = asyncio.Queue()
    config = StateConfig(adapter=AdapterConfig("file", {"path": "remote.sqlite3"}))
    state = StateWorker(config)
    await state.start(AnnouncingContext(host, ready, "iii-state", tmp_path))
    await host.connect()
    try:
        app = await iii_worker(iii_engine, name="app")
        recorder = Recorder()
        app.register_function("app::on_change", recorder)
        handle = app.register_trigger("state", "app::on_change", {"scope": "s"}, metadata={"m": 1})
        assert await asyncio.wait_for(ready.get(), 5) == handle.id
        assert await call(app, "state::set", {"scope": "s", "key": "k", "value": 1}) == {
            "old_value": None,
            "new_value": 1,
        }
        payload, metadata = await recorder.next()
        # Calls made by a connected worker carry the engine-injected caller id.
        payload.pop("_caller_worker_id")
        assert payload == event("state:created", "s", "k", None, 1)
        assert metadata == {"m": 1}
        assert await call(app, "state::list_groups", {}) == {"groups": ["s"]}
    finally:
        await state.stop()
        await host.close()
    assert (tmp_path / "remote.sqlite3").is_file()
