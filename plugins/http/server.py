"""The HTTP server: one aiohttp low-level handler running the request pipeline of §2.4."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from aiohttp import web

from iii_sdk.errors import InvocationError
from iii_sdk.observer import CURRENT
from iii_sdk.plugin import Channel, WorkerContext, check_condition
from iii_sdk.serving import HandshakeGuard
from plugins.http.config import HttpConfig
from plugins.http.cors import Cors
from plugins.http.deadlines import Deadlines
from plugins.http.limit import Limit
from plugins.http.middleware import run_middleware
from plugins.http.payload import (
    header_map,
    is_json,
    middleware_input,
    parse_json_body,
    query_map,
    read_body,
)
from plugins.http.rendering import (
    condition_not_met,
    error_response,
    internal_error,
    method_not_allowed,
    new_error_id,
    not_found,
    render_result,
    request_timeout,
)
from plugins.http.routes import RouteTable
from plugins.http.streaming import ResponseStream, pump_request_body, write_request_body
from plugins.http.trigger import Route

__all__ = ["HttpServer"]

log = logging.getLogger("iii.http")
access_log = logging.getLogger("iii.http.access")

SHUTDOWN_GRACE = 2.0
"""Seconds in-flight requests get to finish when the worker stops."""

MAX_JSON_BODY = 32 * 1024 * 1024
"""JSON bodies are read whole to parse them; other bodies stream through the channel."""


class _Exchange:
    """One request's helpers running beside its invocation; all released when it ends.

    The request body is only written, and the response channel only read, once the handler
    opens that side: most handlers never touch either, and then cost no task at all.
    """

    __slots__ = ("body", "channels", "closed", "cors", "deadline", "response", "server")

    def __init__(self, server: HttpServer, cors: dict[str, str] | None) -> None:
        self.server = server
        self.cors = cors
        self.deadline = server._deadlines.add()
        self.response: ResponseStream | None = None
        self.body: asyncio.Task[None] | None = None
        self.channels: tuple[Channel, ...] = ()
        self.closed = False

    @property
    def streaming(self) -> bool:
        """Whether the handler's streamed response (mode B) has started."""
        return self.response is not None and self.response.started

    def on_read(self, channel: Channel, feed: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``feed()`` (writing the request body) once the handler opens ``channel``."""

        def opened() -> None:
            if not self.closed and self.body is None:
                self._feed(feed)

        channel.when_opened("read", opened)

    def _feed(self, feed: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.body = asyncio.get_running_loop().create_task(feed())

    def on_write(self, channel: Channel, request: web.BaseRequest) -> None:
        """Start reading the response channel once the handler opens its write side."""

        def opened() -> None:
            if not self.closed and self.response is None:
                self.open_response(channel, request)

        channel.when_opened("write", opened)

    def open_response(self, channel: Channel, request: web.BaseRequest) -> None:
        """Start reading the response channel now."""
        self.response = ResponseStream(channel, request, self.cors, self.start_streaming)

    def start_streaming(self) -> bool:
        """The handler's first body frame arrived: may the streamed response begin?"""
        if self.closed or self.deadline.expired:
            return False
        # Like upstream, the timeout covers the wait for the response, not its streaming.
        self.server._deadlines.remove(self.deadline)
        self.server._streaming.add(self)
        return True

    def close(self) -> None:
        self.closed = True
        self.server._deadlines.remove(self.deadline)
        self.server._streaming.discard(self)
        if self.response is not None:
            self.response.cancel()
        if self.body is not None:
            self.body.cancel()
        for channel in self.channels:
            # A request body nobody read would otherwise wait for the engine's sweep.
            channel.discard()


def _ref(channel: Channel, direction: str) -> dict[str, str]:
    ref = channel.reader_ref if direction == "read" else channel.writer_ref
    return {"channel_id": ref.channel_id, "access_key": ref.access_key, "direction": direction}


class HttpServer:
    """Serves the routes of a :class:`RouteTable`, invoking functions through ``ctx``."""

    def __init__(self, config: HttpConfig, ctx: WorkerContext, routes: RouteTable) -> None:
        self.routes = routes
        self.port: int | None = None
        self._config = config
        self._ctx = ctx
        self._timeout = config.default_timeout / 1000
        self._limit = Limit(config.concurrency_request_limit)
        self._global_middleware = [
            m.function_id
            for m in sorted(config.middleware, key=lambda m: m.priority)
            if m.phase == "preHandler"
        ]
        self._cors = Cors(config.cors)
        self._runner: web.ServerRunner | None = None
        self._deadlines = Deadlines(self._timeout)
        self._streaming: set[_Exchange] = set()
        self._access_log = config.access_log
        self.guard = HandshakeGuard(
            timeout_s=config.header_timeout_ms / 1000,
            max_pending=config.max_pending_connections,
            name="iii-http",
        )
        """Closes connections whose request head does not arrive in time."""

    async def start(self) -> None:
        """Listen on the configured host and port (``port`` holds the bound port)."""
        idle = self._config.header_timeout_ms / 1000 or 75.0  # an idle keep-alive, likewise
        server = web.Server(
            self._handle,
            request_factory=self._make_request,
            access_log=None,
            keepalive_timeout=idle,
        )
        self.guard.install(server)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, self._config.host, self._config.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._deadlines.start()
        sockets: list[socket.socket] = list(getattr(site._server, "sockets", ()) or ())
        self.port = sockets[0].getsockname()[1] if sockets else self._config.port

    def _make_request(
        self,
        message: Any,
        payload: Any,
        protocol: Any,
        writer: Any,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        self.guard.passed(protocol)  # the request head is complete
        return web.BaseRequest(
            message,
            payload,
            protocol,
            writer,
            task,
            asyncio.get_running_loop(),
            client_max_size=MAX_JSON_BODY,
        )

    async def stop(self) -> None:
        """Close the listener and in-flight connections."""
        runner, self._runner = self._runner, None
        await self._end_streams()
        if runner is not None:
            await runner.cleanup()
        await self._deadlines.stop()

    async def _end_streams(self) -> None:
        """End open streamed responses (SSE never ends by itself) so stopping is quick."""
        streaming = list(self._streaming)
        ended = [ex.response.stop() for ex in streaming if ex.response is not None]
        await asyncio.gather(*ended, return_exceptions=True)
        for exchange in streaming:
            task = exchange.deadline.task
            if task is not None and not task.done():
                task.cancel()  # still waiting on its handler's invocation

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if not self._access_log or not access_log.isEnabledFor(logging.INFO):
            return (await self._respond(request))[0]
        started = time.perf_counter()
        response, function_id = await self._respond(request)
        access_log.info(
            "%s %s %d %.1fms %s",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
            function_id or "-",
        )
        return response

    async def _respond(self, request: web.BaseRequest) -> tuple[web.StreamResponse, str | None]:
        """The response, and the function of the route that served it (``None``: no route)."""
        origin = request.headers.get("Origin")
        cors = self._cors.response_headers(origin) if origin is not None else None
        method = request.method
        if method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return self._cors.preflight(request), None
        path = request.raw_path
        cut = path.find("?")
        if cut >= 0:
            path = path[:cut]
        match = self.routes.lookup(method, path)
        if match is None and method == "HEAD":
            match = self.routes.lookup("GET", path)
        response: web.StreamResponse
        if match is None:
            others = self.routes.other_methods(method, path)
            response = method_not_allowed(others) if others else not_found()
        else:
            limit = self._limit
            if not limit.try_acquire():
                await limit.acquire()
            try:
                if self._ctx.observer is None:
                    response = await self._serve(request, match[0].value, match[1], cors)
                else:
                    response = await self._serve_traced(request, match[0].value, match[1], cors)
            except web.HTTPException as exc:  # a JSON body over MAX_JSON_BODY
                response = web.Response(status=exc.status, text=exc.text)
            except Exception:
                error_id = new_error_id()
                log.exception("failed serving %s %s (error_id %s)", method, path, error_id)
                response = internal_error(error_id)
            finally:
                limit.release()
        if cors and not response.prepared:
            response.headers.update(cors)
        return response, None if match is None else match[0].value.trigger.function_id

    async def _serve_traced(
        self,
        request: web.BaseRequest,
        binding: Route,
        params: dict[str, str],
        cors: dict[str, str] | None,
    ) -> web.StreamResponse:
        """:meth:`_serve` under a ``<METHOD> <route>`` span continuing the request's
        ``traceparent`` / ``baggage`` headers (the handler's call span is its child)."""
        observer = self._ctx.observer
        assert observer is not None
        headers = request.headers
        span = observer.start_span(
            f"{request.method} {binding.path}",
            kind="server",
            traceparent=headers.get("traceparent"),
            baggage=headers.get("baggage"),
            attributes={
                "http.request.method": request.method,
                "http.route": binding.path,
                "url.path": request.path,
            },
        )
        token = CURRENT.set(span)
        try:
            response = await self._serve(request, binding, params, cors)
        except BaseException as exc:
            span.end("http_error", str(exc) or type(exc).__name__)
            raise
        finally:
            CURRENT.reset(token)
        span.set_attribute("http.response.status_code", response.status)
        if response.status >= 500:
            span.end("http_error", f"HTTP {response.status}")
        else:
            span.end()
        return response

    async def _serve(
        self,
        request: web.BaseRequest,
        binding: Route,
        params: dict[str, str],
        cors: dict[str, str] | None,
    ) -> web.StreamResponse:
        exchange = _Exchange(self, cors)
        try:
            answer = await self._run(request, binding, params, exchange)
            if answer is not None:
                return answer
            stream = exchange.response
            assert stream is not None
            await stream.wait_ready()
            return await stream.finish()
        except asyncio.CancelledError:
            deadline = exchange.deadline
            if not deadline.expired or deadline.task is None:
                raise
            deadline.task.uncancel()
            return request_timeout()
        finally:
            exchange.close()

    async def _run(
        self,
        request: web.BaseRequest,
        binding: Route,
        params: dict[str, str],
        exchange: _Exchange,
    ) -> web.StreamResponse | None:
        """Steps 2-7 of the pipeline; an ``answer`` unless the response streams (mode B)."""
        ctx, trigger = self._ctx, binding.trigger
        headers = header_map(request)
        query = query_map(request)
        mw_input: dict[str, Any] | None = None
        if self._global_middleware:
            mw_input = middleware_input(request.method, params, query, headers)
            answer = await run_middleware(ctx, self._global_middleware, mw_input, self._timeout)
            if answer is not None:
                return answer
        raw: bytes | None = None
        body: Any = None
        if is_json(headers):
            raw = await read_body(request, MAX_JSON_BODY)
            body = parse_json_body(raw)
        payload: dict[str, Any] = {
            "query_params": query,
            "path_params": params,
            "headers": headers,
            "path": binding.path,
            "method": request.method,
            "body": body,
            "trigger": dict(binding.trigger_info),  # handlers in process may mutate payloads
        }
        if binding.condition_function_id:
            try:
                passed = await check_condition(
                    ctx, binding.condition_function_id, payload, trigger.namespace
                )
            except InvocationError as exc:
                return _failed(request, binding.condition_function_id, exc)
            if not passed:
                return condition_not_met()
        if binding.middleware_function_ids:
            if mw_input is None:
                mw_input = middleware_input(request.method, params, query, headers)
            answer = await run_middleware(
                ctx, binding.middleware_function_ids, mw_input, self._timeout, trigger.namespace
            )
            if answer is not None:
                return answer
        return await self._invoke(request, binding, payload, raw, exchange)

    async def _invoke(
        self,
        request: web.BaseRequest,
        binding: Route,
        payload: dict[str, Any],
        raw: bytes | None,
        exchange: _Exchange,
    ) -> web.StreamResponse | None:
        """Steps 3, 4 and 7: channels, request body, handler; ``None`` when mode B streams."""
        ctx, trigger = self._ctx, binding.trigger
        request_channel = await ctx.create_channel()
        response_channel = await ctx.create_channel()
        exchange.channels = (request_channel, response_channel)
        payload["request_body"] = _ref(request_channel, "read")
        payload["response"] = _ref(response_channel, "write")
        if raw is not None or not request.body_exists:
            exchange.on_read(request_channel, partial(write_request_body, request_channel, raw))
        else:
            exchange.on_read(request_channel, partial(pump_request_body, request_channel, request))
        exchange.on_write(response_channel, request)
        try:
            result = await ctx.invoke(
                trigger.function_id,
                payload,
                metadata=trigger.metadata,
                namespace=trigger.namespace,
            )
        except InvocationError as exc:
            return None if exchange.streaming else _failed(request, trigger.function_id, exc)
        if result is not None and not exchange.streaming:
            return render_result(result)
        if exchange.response is None:
            # No result and the response channel never opened: wait for it as for a stream.
            exchange.open_response(response_channel, request)
        return None


def _failed(request: web.BaseRequest, function_id: str, exc: InvocationError) -> web.Response:
    """A 500 for a failed invocation, logged with the ``error_id`` the client receives."""
    error_id = new_error_id()
    log.error(
        "%s %s: %s failed (error_id %s, invocation %s): %s: %s",
        request.method,
        request.path,
        function_id,
        error_id,
        exc.invocation_id or "-",
        exc.code,
        exc.message,
    )
    return error_response(exc.code, exc.message, error_id)
