"""Running this worker's functions for the engine's ``invokefunction`` frames.

Each invocation runs in its own task (handlers may take long and must run concurrently), whose
first step is taken at once (:mod:`iii_sdk._eager`). A handler that cannot suspend
(:func:`~iii_sdk.handlers.never_suspends`: an ``async def`` with no ``await``) needs no task: it
runs to completion on the spot, in a copy of the context as a task would, unless OpenTelemetry
spans are on (their context is set up the task's way). The answer goes back on the socket the
call came in on; if that socket is gone the engine has already answered the caller with
``invocation_stopped`` and the result is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from iii_sdk.channels import resolve_channel_refs
from iii_sdk.errors import (
    FUNCTION_NOT_FOUND,
    INVOCATION_FAILED,
    ErrorBody,
    InvocationError,
    error_body,
)
from iii_sdk.handlers import AsyncHandler
from iii_sdk.protocol import (
    UNSET,
    InvocationResult,
    InvokeFunction,
    encode,
    from_raw,
)

from ._eager import start_task
from ._frames import result_frame
from ._registrations import FunctionRegistration
from ._tracing import INBOUND, run_handler, tracing
from ._values import json_value

__all__ = ["Executor"]

FUNCTION_NOT_INVOKABLE = "function_not_invokable"

log = logging.getLogger("iii.sdk")


class Executor:
    """Dispatches engine invocations to local handlers and sends their results."""

    def __init__(
        self,
        functions: dict[str, FunctionRegistration],
        send_on: Callable[[int, bytes], bool],
        drained: Callable[[], Awaitable[None]],
        engine_url: str,
    ) -> None:
        self._functions = functions
        self._send_on = send_on
        self._drained = drained
        self._engine_url = engine_url
        self._tasks: dict[int, asyncio.Task[None]] = {}
        """Running handler tasks by a per-executor number; each task removes its own entry."""
        self._numbers = itertools.count()
        self._channel_http: aiohttp.ClientSession | None = None
        """One HTTP session for every channel end handed to handlers (closed with the worker,
        so an end a handler never closed does not leak a session)."""

    def handle(self, message: InvokeFunction, generation: int) -> None:
        """Start running ``message`` (called inline on the read task)."""
        entry = self._functions.get(message.function_id)
        if entry is None or entry.handler is None:
            self._not_found(message, generation, http_invoked=entry is not None)
            return
        if entry.inline and not tracing():
            contextvars.copy_context().run(self._run_now, entry.handler, message, generation)
            return
        # The handler's first step runs now (see _eager): one that does not wait has answered
        # before this returns. The task is in the table before its code runs, and removes
        # itself when it ends (no done callback to schedule).
        number = next(self._numbers)
        start_task(
            asyncio.get_running_loop(),
            self._run(entry.handler, message, generation, number),
            self._tasks,
            number,
        )

    async def close(self) -> None:
        """Cancel running handlers."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._channel_http is not None:
            http, self._channel_http = self._channel_http, None
            await http.close()

    def _payload(self, message: InvokeFunction) -> Any:
        data = message.data
        payload = from_raw(data)
        # A cheap byte scan spares the tree walk for the common payload without channels,
        # and tells the walk how many refs there can be at most.
        if data is not UNSET and b'"channel_id"' in (raw := bytes(data)):
            if self._channel_http is None or self._channel_http.closed:
                self._channel_http = aiohttp.ClientSession()
            payload = resolve_channel_refs(
                payload,
                self._engine_url,
                session=self._channel_http,
                at_most=raw.count(b'"channel_id"'),
            )
        return payload

    async def _run(
        self, handler: AsyncHandler, message: InvokeFunction, generation: int, number: int
    ) -> None:
        function_id = message.function_id
        error: ErrorBody | None = None
        result: Any = None
        try:
            try:
                if not tracing():  # no span: only carry the caller's context (own task)
                    if message.traceparent is not None:
                        INBOUND.set((message.traceparent, message.baggage))
                    result = await handler(self._payload(message), from_raw(message.metadata))
                else:
                    result = await run_handler(
                        function_id,
                        message.traceparent,
                        message.baggage,
                        lambda: handler(self._payload(message), from_raw(message.metadata)),
                    )
            except Exception as exc:
                if not isinstance(exc, InvocationError):
                    log.exception("function %s failed", function_id)
                error = error_body(exc)
            if message.invocation_id is None:
                return
            if self._send_on(generation, self._encode(message, result, error)):
                await self._drained()  # the socket is congested: stop answering until it drains
        finally:
            self._tasks.pop(number, None)

    def _run_now(self, handler: AsyncHandler, message: InvokeFunction, generation: int) -> None:
        """Run a handler that cannot suspend to its end, and answer (inside its own context)."""
        error: ErrorBody | None = None
        result: Any = None
        try:
            if message.traceparent is not None:
                INBOUND.set((message.traceparent, message.baggage))
            metadata = message.metadata
            coro: Coroutine[Any, Any, Any]
            coro = handler(  # type: ignore[assignment]
                self._payload(message),
                None if metadata is UNSET else from_raw(metadata),  # from_raw(), spelled out
            )
            try:
                coro.send(None)
            except StopIteration as done:
                result = done.value
            else:  # pragma: no cover - its code has no wait point
                coro.close()
                raise RuntimeError("a handler marked as never suspending suspended")
        except (Exception, asyncio.CancelledError) as exc:
            # There is no task to cancel here: a CancelledError its code raises is a failure,
            # and must not reach the read loop that runs it.
            if not isinstance(exc, InvocationError):
                log.exception("function %s failed", message.function_id)
            error = error_body(exc)
        if message.invocation_id is not None:
            # Already sent when the socket is congested: a task would only hold its slot.
            self._send_on(generation, self._encode(message, result, error))

    def _encode(self, message: InvokeFunction, result: Any, error: ErrorBody | None) -> bytes:
        assert message.invocation_id is not None
        if error is None:
            try:
                return result_frame(message.invocation_id, message.function_id, json_value(result))
            except Exception as exc:  # any encoding failure is the handler's failure
                error = ErrorBody(
                    code=INVOCATION_FAILED,
                    message=f"result of {message.function_id} is not JSON-encodable: {exc}",
                )
        return encode(
            InvocationResult(
                invocation_id=message.invocation_id, function_id=message.function_id, error=error
            )
        )

    def _not_found(self, message: InvokeFunction, generation: int, *, http_invoked: bool) -> None:
        if http_invoked:
            error = ErrorBody(
                code=FUNCTION_NOT_INVOKABLE,
                message="Function is HTTP-invoked and cannot be invoked locally",
            )
        else:
            error = ErrorBody(
                code=FUNCTION_NOT_FOUND, message=f"Function '{message.function_id}' not found"
            )
        log.warning("cannot run %s here: %s", message.function_id, error.message)
        if message.invocation_id is None:
            return
        frame = encode(
            InvocationResult(
                invocation_id=message.invocation_id,
                function_id=message.function_id,
                error=error,
            )
        )
        self._send_on(generation, frame)
