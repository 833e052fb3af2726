"""The stream page's Python worker: serves the page and writes to the ``board`` stream.

``GET /`` (through iii-http) answers ``index.html`` with the two WebSocket URLs filled in;
``POST /post`` with ``{"id", "text"}`` stores an item with ``stream::set``, and every subscribed
page shows it at once. Run by ``config.yaml``; by hand: ``python app.py`` with ``III_URL`` set.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from iii_sdk import Worker

PAGE = Path(__file__).with_name("index.html")
STREAM, GROUP = "board", "main"


def page_html(worker_url: str, stream_url: str) -> str:
    """``index.html`` with the engine's worker and stream WebSocket URLs."""
    config = json.dumps({"workerUrl": worker_url, "streamUrl": stream_url})
    return PAGE.read_text().replace("/*III_CONFIG*/", f"window.III = {config};")


def register(worker: Worker, *, worker_url: str, stream_url: str) -> None:
    """Register the page and the ``POST /post`` writer on ``worker``."""
    html = page_html(worker_url, stream_url)

    def index(request: Any) -> dict[str, Any]:
        return {
            "status_code": 200,
            "headers": {"Content-Type": "text/html; charset=utf-8"},
            "body": html,
        }

    async def post(request: dict[str, Any]) -> dict[str, Any]:
        body = request.get("body") or {}
        item = {"id": str(body["id"]), "text": str(body.get("text", ""))}
        where = {"stream_name": STREAM, "group_id": GROUP, "item_id": item["id"]}
        await worker.trigger("stream::set", {**where, "data": item})
        return {"status_code": 200, "body": item}

    worker.register_function("stream_page::index", index)
    worker.register_trigger("http", "stream_page::index", {"api_path": "/", "http_method": "GET"})
    worker.register_function("stream_page::post", post)
    worker.register_trigger(
        "http", "stream_page::post", {"api_path": "/post", "http_method": "POST"}
    )


async def main() -> None:
    """Serve the page, then update a ``clock`` item every second."""
    stream_url = os.environ.get("III_STREAM_URL", "ws://127.0.0.1:3112/")
    async with Worker(name="stream-page") as worker:
        register(worker, worker_url=worker.url, stream_url=stream_url)
        where = {"stream_name": STREAM, "group_id": GROUP, "item_id": "clock"}
        while True:
            now = time.strftime("%H:%M:%S")
            await worker.trigger("stream::set", {**where, "data": {"id": "clock", "text": now}})
            await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main())
