"""Blocking use of the SDK, for scripts.

Serve functions until Ctrl-C::

    def add(payload):
        return {"c": payload["a"] + payload["b"]}

    worker = Worker()
    worker.register_function("math::add", add)
    worker.run_forever()

Call functions from ordinary code (the worker's event loop runs in a background thread)::

    with SyncWorker() as worker:
        print(worker.trigger("math::add", {"a": 2, "b": 3}))
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from iii_sdk._requests import TriggerRequest
from iii_sdk._serving import run_forever
from iii_sdk._tracing import tracing
from iii_sdk.handlers import Handler
from iii_sdk.plugin import TriggerType
from iii_sdk.protocol import from_raw
from iii_sdk.worker import Worker

__all__ = ["SyncHandle", "SyncWorker", "run_forever"]

T = TypeVar("T")


class SyncHandle:
    """A registration handle whose :meth:`unregister` may be called from any thread."""

    def __init__(self, handle: Any, owner: SyncWorker) -> None:
        self.handle = handle
        self._owner = owner

    def unregister(self) -> None:
        """Withdraw the registration."""
        self._owner._call(self.handle.unregister)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


class SyncWorker:
    """A :class:`~iii_sdk.worker.Worker` driven from blocking code.

    The worker's event loop runs in a daemon thread; every method blocks until done. Handlers
    run as in the async worker (sync ones in a thread pool), so a sync handler may itself call
    :meth:`trigger`.
    """

    def __init__(self, url: str | None = None, **options: Any) -> None:
        self.worker = Worker(url, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="iii-sync-worker", daemon=True
        )
        self._thread.start()

    @property
    def worker_id(self) -> str | None:
        """The engine-assigned id of the current connection."""
        return self.worker.worker_id

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def call() -> T:
            return fn(*args, **kwargs)

        return self._run(call())

    def connect(self, timeout: float | None = None) -> None:
        """Connect and wait for the engine's ``workerregistered``."""
        self._run(asyncio.wait_for(self.worker.connect(), timeout))

    def close(self) -> None:
        """Close the worker and stop its thread."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.worker.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> Self:
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def register_function(self, function_id: str, handler: Handler, **options: Any) -> SyncHandle:
        """See :meth:`Worker.register_function`."""
        return SyncHandle(
            self._call(self.worker.register_function, function_id, handler, **options), self
        )

    def register_trigger(self, *args: Any, **options: Any) -> SyncHandle:
        """See :meth:`Worker.register_trigger`."""
        return SyncHandle(self._call(self.worker.register_trigger, *args, **options), self)

    def register_trigger_type(self, trigger_type: TriggerType) -> SyncHandle:
        """See :meth:`Worker.register_trigger_type`."""
        return SyncHandle(self._call(self.worker.register_trigger_type, trigger_type), self)

    def trigger(
        self,
        request: Any,
        payload: Any = None,
        *,
        action: Any = None,
        timeout_ms: float | None = None,
        metadata: Any = None,
        namespace: str | None = None,
    ) -> Any:
        """See :meth:`Worker.trigger`; blocks until the result arrives."""
        call = TriggerRequest.of(request, payload, action, timeout_ms, metadata, namespace)
        if tracing():  # the client span wraps the whole call: run the coroutine
            return self._run(
                self.worker.trigger(
                    request,
                    payload,
                    action=action,
                    timeout_ms=timeout_ms,
                    metadata=metadata,
                    namespace=namespace,
                )
            )
        # Without a span the call needs no task on the worker's loop: the invocation is sent
        # from a callback and the call's future wakes this thread directly.
        return self._outcome(_BlockingCall(self.worker, call).wait(self._loop))

    @staticmethod
    def _outcome(outcome: tuple[bool, Any]) -> Any:
        ok, value = outcome
        if ok:
            return from_raw(value)
        raise value


class _BlockingCall:
    """One :meth:`SyncWorker.trigger` without a span: started on the worker's loop, waited
    for on a plain lock by the calling thread."""

    __slots__ = ("_call", "_done", "_outcome", "_worker")

    def __init__(self, worker: Worker, call: TriggerRequest) -> None:
        self._worker = worker
        self._call = call
        self._done = threading.Lock()
        self._done.acquire()
        self._outcome: tuple[bool, Any] = (True, None)

    def wait(self, loop: asyncio.AbstractEventLoop) -> tuple[bool, Any]:
        """Start the call on ``loop`` and block until it has an outcome."""
        loop.call_soon_threadsafe(self._start)
        self._done.acquire()
        return self._outcome

    def _start(self) -> None:
        try:
            pending = self._worker._start(self._call, traced=False)
        except BaseException as exc:  # raised in the waiting thread instead
            self._finish(False, exc)
            return
        if pending is None:  # void: sent (or queued) already
            self._finish(True, None)
            return
        pending.future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            self._finish(False, asyncio.CancelledError())
        elif (exc := future.exception()) is not None:
            self._finish(False, exc)
        else:
            self._finish(True, future.result())

    def _finish(self, ok: bool, value: Any) -> None:
        self._outcome = (ok, value)
        self._done.release()
