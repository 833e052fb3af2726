"""Invocation routing: the engine's hot path.

A call from a worker to a function owned by another worker is forwarded as bytes: the payload
stays :class:`msgspec.Raw`, a pending record maps the invocation id back to the caller, and the
executor's result is written straight to the caller's socket from the executor's read loop — no
task, queue or future per call. In-process callers (trigger types, HTTP) wait on a future;
in-process functions run on a task (:mod:`iii_engine.core.local`) so a slow one never blocks a
connection's read loop, except those that never wait (:mod:`iii_engine.core.immediate`) or
rarely do (``@eager``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, Raw, UnsetType

from iii_engine.core import plain, traced
from iii_engine.core.enqueue import enqueue
from iii_engine.core.immediate import call_immediate
from iii_engine.core.invocation import (
    Pending,
    caller_parts,
    inject_caller,
    not_found_message,
    refuse_not_found,
    refuse_over_limit,
    stop_pending,
)
from iii_engine.core.local import start_local
from iii_engine.core.registry import DEFAULT_NAMESPACE, FunctionEntry, FunctionRegistry
from iii_engine.core.sizes import PAYLOAD_TOO_LARGE, too_large
from iii_sdk import errors
from iii_sdk.errors import InvocationError, invocation_error
from iii_sdk.observer import Observer
from iii_sdk.protocol import (
    EnqueueAction,
    ErrorBody,
    InvocationResult,
    InvokeFunction,
    encode,
    is_null,
    new_id,
)

if TYPE_CHECKING:
    from iii_engine.core.observing import ObserveRoute
    from iii_engine.core.peer import Peer

__all__ = ["Router", "inject_caller", "not_found_message"]

log = logging.getLogger("iii.router")


_INVOKE_HEAD = b'{"type":"invokefunction","invocation_id":"'


class Router:
    """Routes ``invokefunction`` frames and in-process calls to the function's provider."""

    def __init__(self, functions: FunctionRegistry) -> None:
        self.functions = functions
        self.pending: dict[str, Pending] = {}
        self.observer: Observer | None = None
        """Set while an observability worker traces (:mod:`iii_sdk.observer`); ``None`` keeps
        every path below exactly as fast as without tracing."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.observe: ObserveRoute | None = None
        """0.25 observe: calls that need more than byte forwarding (iii_engine.observe)."""

    # --- frames from workers ---------------------------------------------------------------------

    async def on_invoke(self, conn: Peer, msg: InvokeFunction) -> None:  # noqa: PLR0915
        """Handle an ``invokefunction`` from a worker.

        The common path (a remote function, no tracing, no observers) stays inline: each helper
        coroutine would cost every routed call a frame; rare branches live in helpers.
        """
        action = msg.action
        reply_id = (
            msg.invocation_id if action is None or isinstance(action, EnqueueAction) else None
        )
        namespace = msg.namespace
        if namespace is None:
            namespace = DEFAULT_NAMESPACE
        elif not namespace.strip():
            if reply_id is not None:
                await conn.send_error(
                    reply_id,
                    msg.function_id,
                    errors.INVALID_NAMESPACE,
                    "namespace must not be blank",
                )
            return
        entry = self.functions.get(namespace, msg.function_id)
        allowed = conn.allowed
        # The access check: one dict lookup; only a miss consults the session.
        if allowed is not None and entry not in allowed:
            session = conn.session
            assert session is not None
            if await session.intercept(conn, msg, entry, namespace):
                return
        if isinstance(action, EnqueueAction):
            self._spawn(enqueue(self.invoke, conn, msg, action.queue, namespace))
            return
        if entry is None:
            await refuse_not_found(conn, self.functions, reply_id, msg.function_id, namespace)
            return
        if (entry.observers is not None or msg.activation is not UNSET) and self.observe:
            await self.observe.route(conn, msg, entry, reply_id)  # 0.25 observe (slow path)
            return
        executor = entry.owner
        observer = self.observer
        span = None
        if observer is not None:
            span = observer.start_call(
                msg.function_id, msg.traceparent, msg.baggage, conn.worker_id
            )
        if executor is None:
            handler = entry.immediate
            if handler is None or conn.pending_count >= conn.max_pending:
                await start_local(entry, conn, reply_id, msg, span, self._spawn, self._track)
                return
            # A handler that never waits runs right here, on this read loop's stack: no task,
            # no coroutine, no context copy, and the payload as received.
            frame = call_immediate(handler, entry, reply_id, msg, span)
            if frame is not None:
                await conn.send(frame)
            return
        invocation_id = new_id() if reply_id is None else reply_id
        if reply_id is not None:
            if conn.pending_count >= conn.max_pending:
                await refuse_over_limit(conn, reply_id, msg.function_id)
                return
            conn.pending_count += 1
            if invocation_id in self.pending:
                invocation_id = new_id()  # two callers chose the same id
                pending = Pending(msg.function_id, executor, conn, reply_id)
            else:
                pending = Pending(msg.function_id, executor, conn)
            self.pending[invocation_id] = pending
            pending.span = span
        parts = caller_parts(msg.data, conn.worker_id)
        limit = executor.max_inbound
        if limit is not None and sum(map(len, parts)) > limit:
            self._fail(invocation_id, PAYLOAD_TOO_LARGE, too_large(len(msg.data or b""), limit))
            return
        if span is not None:
            sent = await executor.send_parts(
                traced.invoke_parts(entry, msg, invocation_id, parts, span)
            )
            if reply_id is None:
                span.end()
        elif msg.traceparent is None and msg.baggage is None and is_null(msg.metadata):
            # The common frame, assembled from bytes cached on the entry and the payload's
            # own buffer (no Struct, no encode, no copy of the data before the write).
            sent = await executor.send_parts(
                (_INVOKE_HEAD, invocation_id.encode(), entry.frame_middle(), *parts, b"}")
            )
        else:
            frame = encode(
                InvokeFunction(
                    invocation_id=invocation_id,
                    function_id=entry.delivered_id,
                    data=Raw(b"".join(parts)),
                    traceparent=msg.traceparent,
                    baggage=msg.baggage,
                    metadata=UNSET if is_null(msg.metadata) else msg.metadata,
                )
            )
            sent = await executor.send(frame)
        if not sent and reply_id is not None:
            self._fail(invocation_id, errors.CHANNEL_SEND_FAILED, "Executor channel is closed")

    async def on_result(self, conn: Peer, msg: InvocationResult, frame: bytes) -> None:
        """Handle an ``invocationresult``: hand it to whoever waits for it.

        When the caller's id and function id match what the executor echoed, the executor's
        frame is forwarded byte for byte.
        """
        pending = self.pending.pop(msg.invocation_id, None)
        if pending is None:
            return
        span = pending.span
        if span is not None:
            error = msg.error
            span.end(
                None if error is None else error.code, None if error is None else error.message
            )
        if pending.watch is not None:
            pending.watch.finish(msg)
        caller = pending.caller
        if caller is not None:
            caller.pending_count -= 1
            limit = caller.max_inbound
            if limit is not None and len(frame) > limit:
                msg = InvocationResult(
                    invocation_id=msg.invocation_id,
                    function_id=msg.function_id,
                    error=ErrorBody(code=PAYLOAD_TOO_LARGE, message=too_large(len(frame), limit)),
                )
                frame = encode(msg)
            if pending.caller_invocation_id is None and msg.function_id == pending.function_id:
                await caller.send(frame)
                return
            await caller.send(
                encode(
                    InvocationResult(
                        invocation_id=pending.caller_invocation_id or msg.invocation_id,
                        function_id=pending.function_id,
                        result=msg.result,
                        error=msg.error,
                        traceparent=msg.traceparent,
                        baggage=msg.baggage,
                    )
                )
            )
        elif pending.future is not None and not pending.future.done():
            pending.future.set_result((msg.result, msg.error))

    def stop_invocations(self, conn: Peer) -> list[tuple[Peer, bytes]]:
        """Drop every invocation ``conn`` executes or waits on (it disconnected); the
        ``invocation_stopped`` frames owed to other callers (see :func:`stop_pending`)."""
        return stop_pending(self.pending, conn)

    def active_invocations(self, conn: Peer) -> int:
        """How many invocations ``conn`` is executing or waiting on."""
        return sum(1 for p in self.pending.values() if p.executor is conn or p.caller is conn)

    # --- in-process calls ------------------------------------------------------------------------

    def invoke(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = DEFAULT_NAMESPACE,
        timeout_ms: float | None = None,
    ) -> Coroutine[Any, Any, Any]:
        """Invoke a function from inside the engine; await it for the decoded result.

        Returns the coroutine of the path that applies rather than awaiting it in one more.
        """
        observe = self.observe
        if observe is not None:  # 0.25 observers see engine-made calls too (traced or not)
            watched = self.functions.get(namespace, function_id)
            if watched is not None and watched.observers is not None and observe.watched(watched):
                return observe.invoke(watched, payload, metadata, timeout_ms)
        if self.observer is not None:
            return traced.invoke(
                self.functions,
                self.invoke_remote,
                self.observer,
                function_id,
                payload,
                metadata,
                namespace,
                timeout_ms,
            )
        return plain.invoke(
            self.functions,
            self.invoke_remote,
            function_id,
            payload,
            metadata,
            namespace,
            timeout_ms,
        )

    async def invoke_remote(
        self,
        entry: FunctionEntry,
        data: Raw,
        metadata: Raw | UnsetType,
        timeout_ms: float | None,
        traceparent: str | None = None,
        baggage: str | None = None,
    ) -> Raw | UnsetType:
        """Send an invocation to the worker owning ``entry`` and wait for the raw result."""
        executor = entry.owner
        assert executor is not None
        invocation_id = new_id()
        future: asyncio.Future[tuple[Raw | UnsetType, ErrorBody | None]]
        future = asyncio.get_running_loop().create_future()
        self.pending[invocation_id] = Pending(entry.function_id, executor, future=future)
        frame = encode(
            InvokeFunction(
                invocation_id=invocation_id,
                function_id=entry.delivered_id,
                data=data,
                metadata=metadata,
                traceparent=traceparent,
                baggage=baggage,
            )
        )
        if not await executor.send(frame):
            self._fail(invocation_id, errors.CHANNEL_SEND_FAILED, "Executor channel is closed")
        try:
            if timeout_ms is None:
                result, error = await future
            else:
                async with asyncio.timeout(timeout_ms / 1000):
                    result, error = await future
        except TimeoutError:
            raise InvocationError(
                errors.TIMEOUT, "Invocation timed out", function_id=entry.function_id
            ) from None
        finally:
            if future.cancelled() or not future.done():  # timed out or cancelled: forget it
                self.pending.pop(invocation_id, None)
        if error is not None:
            raise invocation_error(
                error, function_id=entry.function_id, invocation_id=invocation_id
            )
        return result

    def invoke_void(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        """Invoke without waiting; nothing tracks the call and failures are only logged.

        A remote function gets its frame queued on the executor's socket (no task per call,
        the executor's answer is dropped on arrival); an in-process one runs on a task.
        """
        observe = self.observe
        if observe is not None:  # 0.25 observers see engine-made calls too (traced or not)
            watched = self.functions.get(namespace, function_id)
            if watched is not None and watched.observers is not None and observe.watched(watched):
                self._spawn(observe.invoke(watched, payload, metadata, None, void=True))
                return
        if self.observer is not None:
            traced.invoke_void(
                self.functions,
                self._spawn,
                self.observer,
                function_id,
                payload,
                metadata,
                namespace,
            )
            return
        plain.invoke_void(self.functions, self._spawn, function_id, payload, metadata, namespace)

    # --- internals -------------------------------------------------------------------------------

    def _fail(self, invocation_id: str, code: str, message: str) -> None:
        pending = self.pending.pop(invocation_id, None)
        if pending is None:
            return
        if pending.span is not None:
            pending.span.end(code, message)
        body = ErrorBody(code=code, message=message)
        if pending.caller is not None:
            pending.caller.pending_count -= 1
            frame = encode(
                InvocationResult(
                    invocation_id=pending.caller_invocation_id or invocation_id,
                    function_id=pending.function_id,
                    error=body,
                )
            )
            self._spawn(pending.caller.send_void(frame))
        elif pending.future is not None and not pending.future.done():
            pending.future.set_result((UNSET, body))

    def _spawn(self, coro: Any) -> None:
        self._track(asyncio.get_running_loop().create_task(coro))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel in-process invocations still running."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
