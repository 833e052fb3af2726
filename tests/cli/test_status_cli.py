"""``iii status`` as a subprocess: HTTP routes and other triggers, as tables and as JSON."""

from __future__ import annotations

import json

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.cli.clirun import free_port, iii


async def test_status_lists_routes_and_triggers_as_text_and_json() -> None:
    http = {"name": "iii-http", "config": {"port": 0, "host": "127.0.0.1"}}
    async with (
        start_engine(workers=[http, {"name": "iii-pubsub"}]) as engine,
        Worker(engine.worker_url, name="shop") as worker,
    ):
        worker.register_function("shop::order", lambda p: {"ok": True})
        worker.register_function("shop::audit", lambda p: None)
        worker.register_trigger(
            "http", "shop::order", {"api_path": "orders/:id", "http_method": "post"}
        )
        worker.register_trigger("subscribe", "shop::audit", {"topic": "orders"})
        # Registrations precede this call on the socket: once it answers, all are live.
        listed = await worker.trigger("engine::registered-triggers::list", {})
        assert len(listed["registered_triggers"]) == 2
        flags = ["--port", engine.worker_url.rsplit(":", 1)[1], "--address", "127.0.0.1"]
        text = await iii("status", *flags)
        data = await iii("status", "--json", *flags)
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    header = lines.index("TRIGGER    CONFIG            FUNCTION     WORKER")
    assert lines[header + 1 :] == [
        "http       POST /orders/:id  shop::order  shop",
        "subscribe  topic=orders      shop::audit  shop",
    ]
    assert data.code == 0, data.err
    parsed = json.loads(data.out)
    assert set(parsed) == {"engine", "workers", "functions", "trigger_types", "triggers"}
    assert [(t["trigger_type"], t["summary"], t["function_id"]) for t in parsed["triggers"]] == [
        ("http", "POST /orders/:id", "shop::order"),
        ("subscribe", "topic=orders", "shop::audit"),
    ]
    assert not any(w["name"].startswith("iii-cli:") for w in parsed["workers"])


async def test_status_without_engine_fails_fast_naming_the_url() -> None:
    port = free_port()
    run = await iii("status", "--port", str(port))
    assert run.code == 1
    assert run.err == f"Error: no engine answering at ws://localhost:{port}: connection refused\n"
