"""The HTTP server: one aiohttp low-level handler running the request pipeline of §2.4."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from iii_sdk.errors import InvocationError
from iii_sdk.observer import CURRENT, Span
from iii_sdk.plugin import WorkerContext, check_condition
from iii_sdk.protocol import StreamChannelRef
from iii_sdk.serving import HandshakeGuard
from plugins.http.config import HttpConfig
from plugins.http.cors import Cors
from plugins.http.deadlines import Deadlines
from plugins.http.exchange import Exchange, answer_from
from plugins.http.limit import Limit
from plugins.http.middleware import run_middleware
from plugins.http.payload import (
    handler_payload,
    header_map,
    is_json,
    middleware_input,
    parse_json_body,
    query_map,
    read_body,
)
from plugins.http.rendering import (
    condition_not_met,
    internal_error,
    invocation_failed,
    method_not_allowed,
    new_error_id,
    not_found,
    request_timeout,
)
from plugins.http.routes import RouteTable
from plugins.http.spans import end_span, server_span
from plugins.http.trigger import Route

__all__ = ["HttpServer"]

log = logging.getLogger("iii.http")
access_log = logging.getLogger("iii.http.access")

SHUTDOWN_GRACE = 2.0
"""Seconds in-flight requests get to finish when the worker stops."""

MAX_JSON_BODY = 32 * 1024 * 1024
"""JSON bodies are read whole to parse them; other bodies stream through the channel."""


def _ref(ref: StreamChannelRef, direction: str) -> dict[str, str]:
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
        self._streaming: set[Exchange] = set()
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

    def _handle(self, request: web.BaseRequest) -> Awaitable[web.StreamResponse]:
        """Route one request: a routed one is served by :meth:`_serve` (the request's only
        coroutine between aiohttp and the invocation: each is re-entered when it resolves);
        a preflight, a 404 or a 405 is answered here."""
        timed = self._access_log and access_log.isEnabledFor(logging.INFO)
        started = time.perf_counter() if timed else 0.0
        headers = request.headers
        origin = headers.get("Origin")
        cors = self._cors.response_headers(origin) if origin is not None else None
        method = request.method
        if method == "OPTIONS" and "Access-Control-Request-Method" in headers:
            return _ready(
                self._logged(request, self._cors.preflight(request), None, started, timed)
            )
        path = request.raw_path
        cut = path.find("?")
        if cut >= 0:
            path = path[:cut]
        match = self.routes.lookup(method, path)
        if match is None and method == "HEAD":
            match = self.routes.lookup("GET", path)
        if match is not None:
            return self._serve(request, match[0].value, match[1], cors, cut >= 0, started, timed)
        others = self.routes.other_methods(method, path)
        response = method_not_allowed(others) if others else not_found()
        if cors:
            response.headers.update(cors)
        return _ready(self._logged(request, response, None, started, timed))

    @staticmethod
    def _logged(
        request: web.BaseRequest,
        response: web.StreamResponse,
        function_id: str | None,
        started: float,
        timed: bool,
    ) -> web.StreamResponse:
        """``response``, after its access log line when the access log is on."""
        if timed:
            access_log.info(
                "%s %s %d %.1fms %s",
                request.method,
                request.path,
                response.status,
                (time.perf_counter() - started) * 1000,
                function_id or "-",
            )
        return response

    async def _serve(  # noqa: PLR0915 - the request's one coroutine, on purpose
        self,
        request: web.BaseRequest,
        binding: Route,
        params: dict[str, str],
        cors: dict[str, str] | None,
        has_query: bool,
        started: float,
        timed: bool,
    ) -> web.StreamResponse:
        """Steps 2-7 of the pipeline for a routed request, within the concurrency limit.

        While tracing is on, it runs under a ``<METHOD> <route>`` span continuing the request's
        ``traceparent`` / ``baggage`` headers (the handler's call span is its child). A route
        without middleware or condition makes its call right here, not in another coroutine.
        A failure is a 500 with an ``error_id`` (a JSON body too large to read, a 413).
        """
        limit = self._limit
        if not limit.try_acquire():
            await limit.acquire()
        trigger = binding.trigger
        response: web.StreamResponse
        try:
            observer = self._ctx.observer
            span: Span | None = None
            if observer is not None:
                span = server_span(observer, request, binding)
                token = CURRENT.set(span)
            exchange = Exchange(self._deadlines, self._streaming, request, cors)
            try:
                if binding.gated or self._global_middleware:
                    answer = await self._gated(request, binding, params, exchange, has_query)
                else:
                    headers = header_map(request)
                    body: Any = None
                    if is_json(headers):
                        exchange.raw = raw = await read_body(request, MAX_JSON_BODY)
                        body = parse_json_body(raw)
                    query = query_map(request) if has_query else {}
                    payload = handler_payload(request, binding, params, query, headers, body)
                    await self._open_channels(payload, exchange)
                    try:
                        result = await self._ctx.invoke(
                            trigger.function_id,
                            payload,
                            metadata=trigger.metadata,
                            namespace=trigger.namespace,
                        )
                    except InvocationError as exc:
                        answer = (
                            None
                            if exchange.streaming
                            else invocation_failed(request, trigger.function_id, exc)
                        )
                    else:
                        answer = answer_from(result, exchange)
                if answer is None:
                    answer = await exchange.streamed()
            except asyncio.CancelledError as exc:
                deadline = exchange.deadline
                if not deadline.expired or deadline.task is None:
                    if span is not None:
                        span.end("http_error", str(exc) or type(exc).__name__)
                    raise
                deadline.task.uncancel()
                answer = request_timeout()
            except BaseException as exc:
                if span is not None:
                    span.end("http_error", str(exc) or type(exc).__name__)
                raise
            finally:
                exchange.close()
                if span is not None:
                    CURRENT.reset(token)
            if span is not None:
                end_span(span, answer.status)
            response = answer
        except web.HTTPException as exc:  # a JSON body over MAX_JSON_BODY
            response = web.Response(status=exc.status, text=exc.text)
        except Exception:
            error_id = new_error_id()
            log.exception(
                "failed serving %s %s (error_id %s)", request.method, request.path, error_id
            )
            response = internal_error(error_id)
        finally:
            limit.release()
        if cors and not response.prepared:
            response.headers.update(cors)
        return self._logged(request, response, trigger.function_id, started, timed)

    async def _gated(
        self,
        request: web.BaseRequest,
        binding: Route,
        params: dict[str, str],
        exchange: Exchange,
        has_query: bool,
    ) -> web.StreamResponse | None:
        """The pipeline of a route behind middleware or a condition; an ``answer`` unless the
        response streams (mode B)."""
        ctx, trigger = self._ctx, binding.trigger
        headers = header_map(request)
        query = query_map(request) if has_query else {}
        mw_input: dict[str, Any] | None = None
        if self._global_middleware:
            mw_input = middleware_input(request.method, params, query, headers)
            answer = await run_middleware(ctx, self._global_middleware, mw_input, self._timeout)
            if answer is not None:
                return answer
        body: Any = None
        if is_json(headers):
            exchange.raw = raw = await read_body(request, MAX_JSON_BODY)
            body = parse_json_body(raw)
        payload = handler_payload(request, binding, params, query, headers, body)
        if binding.condition_function_id:
            try:
                passed = await check_condition(
                    ctx, binding.condition_function_id, payload, trigger.namespace
                )
            except InvocationError as exc:
                return invocation_failed(request, binding.condition_function_id, exc)
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
        await self._open_channels(payload, exchange)
        try:
            result = await ctx.invoke(
                trigger.function_id,
                payload,
                metadata=trigger.metadata,
                namespace=trigger.namespace,
            )
        except InvocationError as exc:
            return (
                None if exchange.streaming else invocation_failed(request, trigger.function_id, exc)
            )
        return answer_from(result, exchange)

    async def _open_channels(self, payload: dict[str, Any], exchange: Exchange) -> None:
        """Steps 3-4: the request-body and response channels, referenced from ``payload``."""
        ctx = self._ctx
        request_channel = await ctx.create_channel()
        response_channel = await ctx.create_channel()
        exchange.attach(request_channel, response_channel)
        payload["request_body"] = _ref(request_channel.reader_ref, "read")
        payload["response"] = _ref(response_channel.writer_ref, "write")


async def _ready(response: web.StreamResponse) -> web.StreamResponse:
    """An answer made without waiting, as the awaitable aiohttp expects of a handler."""
    return response
