"""The console's JSON-over-WebSocket bridge: calls, live events, stream watches.

Page -> console (one JSON object per text frame)::

    {"id": 7, "call": "engine::functions::list", "payload": {}, "timeout_ms": 30000}
    {"id": 8, "watch":   {"stream_name": "chat", "group_id": "room-1"}}
    {"id": 9, "unwatch": {"stream_name": "chat", "group_id": "room-1"}}

Console -> page::

    {"hello": {"mode": "local" | "worker", "worker_name": "iii-console"}}
    {"id": 7, "ok": true,  "result": ..., "ms": 1.25}
    {"id": 7, "ok": false, "error": {"code": "...", "message": "..."}, "ms": 0.4}
    {"event": "workers" | "functions", "data": <discovery trigger payload>}
    {"event": "stream", "data": <stream event wrapper>}

Discovery bindings are made once and fanned out to every page; a stream group is bound while at
least one page watches it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from iii_sdk.errors import InvocationError
from plugins.console.backend import Backend

__all__ = ["ConsoleBridge", "Page"]

log = logging.getLogger("iii.console")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

Send = Callable[[bytes], None]
StreamKey = tuple[str, str]


class Page:
    """One connected browser tab: a send function and the stream groups it watches."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.watching: set[StreamKey] = set()

    def push(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the page."""
        self.send(_encode(message))


class ConsoleBridge:
    """Routes page requests to the backend and engine events to pages."""

    def __init__(self, backend: Backend, worker_name: str) -> None:
        self.backend = backend
        self.worker_name = worker_name
        self.pages: set[Page] = set()
        self._streams: dict[StreamKey, str] = {}  # watched group -> binding key
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Bind the discovery triggers."""
        await self.backend.start()
        await self.backend.bind("engine::workers-available", None, self._on("workers"))
        await self.backend.bind("engine::functions-available", None, self._on("functions"))

    async def close(self) -> None:
        """Drop pages and bindings."""
        self.pages.clear()
        self._streams.clear()
        await self.backend.close()

    def _on(self, event: str) -> Any:
        async def handler(payload: Any) -> None:
            self.broadcast({"event": event, "data": payload})

        return handler

    def broadcast(self, message: dict[str, Any], pages: set[Page] | None = None) -> None:
        """Send ``message`` to every page (or to ``pages``)."""
        frame = _encode(message)
        for page in list(self.pages if pages is None else pages):
            page.send(frame)

    # --- pages -----------------------------------------------------------------------------------

    def open(self, page: Page) -> None:
        """A page connected."""
        self.pages.add(page)
        page.push({"hello": {"mode": self.backend.mode, "worker_name": self.worker_name}})

    async def close_page(self, page: Page) -> None:
        """A page went away: stop its stream watches."""
        self.pages.discard(page)
        for key in list(page.watching):
            await self._unwatch(page, key)

    async def handle(self, page: Page, raw: str | bytes) -> None:
        """Answer one request from ``page``."""
        try:
            request = _decode(raw)
        except msgspec.DecodeError:
            log.warning("iii-console: ignoring a frame that is not JSON")
            return
        if not isinstance(request, dict):
            return
        request_id = request.get("id")
        started = time.perf_counter()
        try:
            if "call" in request:
                result = await self.backend.call(
                    str(request["call"]), request.get("payload"), request.get("timeout_ms")
                )
            elif "watch" in request:
                result = await self._watch(page, _stream_key(request["watch"]))
            elif "unwatch" in request:
                result = await self._unwatch(page, _stream_key(request["unwatch"]))
            else:
                raise InvocationError("invalid_request", "expected call, watch or unwatch")
        except InvocationError as exc:
            page.push(_failure(request_id, exc.code, exc.message, started))
        except Exception as exc:
            page.push(_failure(request_id, "console_error", str(exc), started))
        else:
            ms = round((time.perf_counter() - started) * 1000, 3)
            page.push({"id": request_id, "ok": True, "result": result, "ms": ms})

    # --- stream watches --------------------------------------------------------------------------

    async def _watch(self, page: Page, key: StreamKey) -> dict[str, Any]:
        async with self._lock:
            if key not in self._streams:
                config = {"stream_name": key[0], "group_id": key[1]}
                self._streams[key] = await self.backend.bind("stream", config, self._stream(key))
            page.watching.add(key)
        return {"stream_name": key[0], "group_id": key[1]}

    async def _unwatch(self, page: Page, key: StreamKey) -> dict[str, Any]:
        async with self._lock:
            page.watching.discard(key)
            if key in self._streams and not any(key in p.watching for p in self.pages):
                await self.backend.unbind(self._streams.pop(key))
        return {"stream_name": key[0], "group_id": key[1]}

    def _stream(self, key: StreamKey) -> Any:
        async def handler(payload: Any) -> None:
            watchers = {p for p in self.pages if key in p.watching}
            self.broadcast({"event": "stream", "data": payload}, watchers)

        return handler


def _stream_key(spec: Any) -> StreamKey:
    if not isinstance(spec, dict) or not spec.get("stream_name") or not spec.get("group_id"):
        raise InvocationError("invalid_request", "watch needs stream_name and group_id")
    return str(spec["stream_name"]), str(spec["group_id"])


def _failure(request_id: Any, code: str, message: str, started: float) -> dict[str, Any]:
    ms = round((time.perf_counter() - started) * 1000, 3)
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}, "ms": ms}
