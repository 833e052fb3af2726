"""One HTTP request's exchange with its handler: the deadline, the body channels and the
streamed response (mode B) running beside the invocation."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from iii_sdk.plugin import Channel
from plugins.http.deadlines import Deadlines
from plugins.http.rendering import render_result
from plugins.http.streaming import ResponseStream, pump_request_body, write_request_body

__all__ = ["Exchange", "answer_from"]


class Exchange:
    """One request's helpers running beside its invocation; all released when it ends.

    The request body is only written, and the response channel only read, once the handler
    opens that side: most handlers never touch either, and then cost no task at all. The
    "side opened" callbacks are bound methods of this object, so a request that never opens
    a side costs no closure either.
    """

    __slots__ = (
        "body",
        "channels",
        "closed",
        "cors",
        "deadline",
        "deadlines",
        "raw",
        "request",
        "response",
        "streaming_now",
    )

    def __init__(
        self,
        deadlines: Deadlines,
        streaming_now: set[Exchange],
        request: web.BaseRequest,
        cors: dict[str, str] | None,
    ) -> None:
        """Start timing the request (``deadlines``); ``streaming_now`` is the server's set of
        exchanges whose streamed response has begun."""
        self.deadlines = deadlines
        self.streaming_now = streaming_now
        self.request = request
        self.cors = cors
        self.deadline = deadlines.add()
        self.response: ResponseStream | None = None
        self.body: asyncio.Task[None] | None = None
        self.channels: tuple[Channel, ...] = ()
        self.raw: bytes | None = None
        """The request body when it was read whole (a JSON body); else it streams."""
        self.closed = False

    @property
    def streaming(self) -> bool:
        """Whether the handler's streamed response (mode B) has started."""
        return self.response is not None and self.response.started

    def attach(self, request_channel: Channel, response_channel: Channel) -> None:
        """Serve the request body on ``request_channel`` and read the response from
        ``response_channel``, each once the handler opens its side."""
        self.channels = (request_channel, response_channel)
        request_channel.when_opened("read", self._read_opened)
        response_channel.when_opened("write", self._write_opened)

    def _read_opened(self) -> None:
        if self.closed or self.body is not None:
            return
        channel = self.channels[0]
        request = self.request
        feed: Coroutine[Any, Any, None]
        if self.raw is not None or not request.body_exists:
            feed = write_request_body(channel, self.raw)
        else:
            feed = pump_request_body(channel, request)
        self.body = asyncio.get_running_loop().create_task(feed)

    def _write_opened(self) -> None:
        if not self.closed and self.response is None:
            self.open_response()

    def open_response(self) -> None:
        """Start reading the response channel now."""
        self.response = ResponseStream(
            self.channels[1], self.request, self.cors, self.start_streaming
        )

    async def streamed(self) -> web.StreamResponse:
        """Mode B: the response once the handler's stream has started (or ended empty)."""
        stream = self.response
        assert stream is not None
        await stream.wait_ready()
        return await stream.finish()

    def start_streaming(self) -> bool:
        """The handler's first body frame arrived: may the streamed response begin?"""
        if self.closed or self.deadline.expired:
            return False
        # Like upstream, the timeout covers the wait for the response, not its streaming.
        self.deadlines.remove(self.deadline)
        self.streaming_now.add(self)
        return True

    def close(self) -> None:
        """The request is over: stop its helpers and delete its channels."""
        self.closed = True
        self.deadlines.remove(self.deadline)
        if self.response is not None:
            self.streaming_now.discard(self)
            self.response.cancel()
        if self.body is not None:
            self.body.cancel()
        for channel in self.channels:
            # A request body nobody read would otherwise wait for the engine's sweep.
            channel.discard()


def answer_from(result: Any, exchange: Exchange) -> web.StreamResponse | None:
    """Step 7: the handler's result as the response; ``None`` when the response streams."""
    if result is not None and not exchange.streaming:
        return render_result(result)
    if exchange.response is None:
        # No result and the response channel never opened: wait for it as for a stream.
        exchange.open_response()
    return None
