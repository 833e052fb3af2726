"""Bodies through data channels: the request body in, streamed responses (mode B) out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from iii_sdk.plugin import Channel, ChannelReadSide, ChannelWriteSide
from plugins.http.rendering import valid_header

__all__ = ["ResponseStream", "pump_request_body", "write_request_body"]

log = logging.getLogger("iii.http")

_CHUNK = 64 * 1024
_json_decode = msgspec.json.Decoder().decode


async def write_request_body(channel: Channel, data: bytes | None) -> None:
    """Put an already-read body into the request-body channel as one chunk, then end it."""
    writer = await channel.writer()
    try:
        if data:
            await writer.write(data)
    finally:
        await writer.close()


async def pump_request_body(channel: Channel, request: web.BaseRequest) -> None:
    """Stream the request body into the channel chunk by chunk, then end it.

    Runs beside the invocation: the channel applies backpressure while the handler reads.
    """
    writer: ChannelWriteSide = await channel.writer()
    try:
        while True:
            chunk = await request.content.readany()
            if not chunk:
                break
            await writer.write(chunk)
    except Exception:
        # The client went away mid-upload; the handler sees the body end early.
        log.debug("iii-http: request body stream ended early", exc_info=True)
    finally:
        await writer.close()


class ResponseStream:
    """Mode B: reads the response channel while the handler runs.

    Text frames before the first binary frame are ``set_status`` / ``set_headers`` controls; the
    first binary frame starts the HTTP response, later ones stream; the channel's end ends it.
    :meth:`wait_ready` returns once the response has started (or the channel ended without data).
    """

    def __init__(
        self,
        channel: Channel,
        request: web.BaseRequest,
        extra_headers: dict[str, str] | None,
        may_start: Callable[[], bool],
    ) -> None:
        """Claim the read side of ``channel`` and start reading it (in a task).

        ``may_start`` is asked when the first body frame arrives; ``False`` (the request already
        timed out) drops the stream instead of starting the response.
        """
        self.status = 200
        self.headers: dict[str, str] = {}
        self.response: web.StreamResponse | None = None
        self._extra_headers = extra_headers
        self._request = request
        self._ready: asyncio.Future[None] | None = None
        self._may_start = may_start
        self._task = asyncio.get_running_loop().create_task(self._run(channel))

    @property
    def started(self) -> bool:
        """Whether the HTTP response has begun (mode B won)."""
        return self.response is not None

    async def wait_ready(self) -> None:
        """Wait until the response has started, or the channel ended without data."""
        if self.response is None and not self._task.done():
            # Created only here: most requests never stream and never wait.
            self._ready = asyncio.get_running_loop().create_future()
            await self._ready

    def cancel(self) -> None:
        """Stop reading (mode A won, or the request failed before any data)."""
        self._task.cancel()

    async def stop(self) -> None:
        """Stop reading and end the response body now (the worker is stopping)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def finish(self) -> web.StreamResponse:
        """Wait for the stream to end; the response to return to aiohttp."""
        await self._task
        if self.response is None:
            return web.Response(status=self.status, headers=self.headers)
        return self.response

    def _set_ready(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _control(self, text: str) -> None:
        try:
            message: Any = _json_decode(text)
        except msgspec.DecodeError:
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "set_status":
            code = message.get("status_code")
            if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
                self.status = code
        elif kind == "set_headers" and isinstance(message.get("headers"), dict):
            for name, value in message["headers"].items():
                if isinstance(value, str) and valid_header(name, value):
                    self.headers[name] = value

    async def _run(self, channel: Channel) -> None:
        reader: ChannelReadSide | None = None
        try:
            reader = await channel.reader()
            await self._stream(reader)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("iii-http: failed streaming a response")
        finally:
            self._set_ready()
            if reader is not None:
                with contextlib.suppress(Exception):
                    await reader.close()
            if self.response is not None:
                # The channel's end is the body's end, even if the handler has not returned.
                with contextlib.suppress(Exception):
                    await self.response.write_eof()

    async def _stream(self, reader: ChannelReadSide) -> None:
        while True:
            frame = await reader.read()
            if frame is None:
                break
            if isinstance(frame, str):
                if self.response is None:
                    self._control(frame)
                continue
            if self.response is None:
                if not self._may_start():
                    return
                if self._extra_headers:
                    self.headers.update(self._extra_headers)
                response = web.StreamResponse(status=self.status, headers=self.headers)
                self.response = response
                await response.prepare(self._request)
                self._set_ready()
            await self.response.write(frame)
