"""Hosting built-in workers in-process: the :class:`WorkerContext` the engine hands them.

Everything a built-in registers through its context is recorded, so stopping the worker (on
shutdown or a hot reload) removes exactly its functions and trigger types.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from iii_engine.builtins.conformance import require_subclass
from iii_engine.core.registry import DEFAULT_NAMESPACE, FunctionEntry
from iii_engine.core.router import Router
from iii_engine.core.triggers import TriggerRegistry
from iii_sdk.handlers import Handler, adapt
from iii_sdk.observer import Observer
from iii_sdk.plugin import BuiltinWorker, Channel, TriggerType, is_eager, is_immediate
from iii_sdk.protocol import to_raw
from iii_sdk.typed import input_type, request_schema

__all__ = ["LocalWorkerContext", "RunningBuiltin"]


class LocalWorkerContext:
    """The engine side of :class:`iii_sdk.plugin.WorkerContext` for one in-process worker.

    ``create_channel(buffer_size)`` makes a data channel with in-process ends.
    """

    def __init__(
        self,
        name: str,
        base_dir: Path,
        *,
        router: Router,
        triggers: TriggerRegistry,
        create_channel: Callable[[int], Channel],
    ) -> None:
        self.router = router
        self.functions = router.functions
        self.triggers = triggers
        self._create_channel = create_channel
        self.name = name
        self.base_dir = base_dir
        self.logger = logging.getLogger(f"iii.{name}")
        self._functions: dict[str, FunctionEntry] = {}
        self._trigger_types: set[str] = set()
        self._pending: set[asyncio.Task[Any]] = set()

    # --- TriggerContext --------------------------------------------------------------------------

    @property
    def observer(self) -> Observer | None:
        """The engine's observer while one runs (:mod:`iii_sdk.observer`)."""
        return self.router.observer

    def invoke(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = DEFAULT_NAMESPACE,
        timeout_ms: float | None = None,
    ) -> Coroutine[Any, Any, Any]:
        """Invoke any function through the engine's router (its coroutine, not a wrapper:
        HTTP requests and trigger firings await it, and each layer is resumed per call)."""
        return self.router.invoke(
            function_id, payload, metadata=metadata, namespace=namespace, timeout_ms=timeout_ms
        )

    def invoke_void(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        """Invoke without waiting for the result."""
        self.router.invoke_void(function_id, payload, metadata=metadata, namespace=namespace)

    def has_function(self, function_id: str) -> bool:
        """Whether any worker has registered ``function_id`` (a dict lookup, no invocation)."""
        return self.functions.get(DEFAULT_NAMESPACE, function_id) is not None

    # --- WorkerContext ---------------------------------------------------------------------------

    def register_function(
        self,
        function_id: str,
        handler: Handler,
        *,
        description: str | None = None,
        request_format: Any = None,
        response_format: Any = None,
        metadata: Any = None,
    ) -> None:
        """Register an in-process function (sync handlers run inline: keep them quick)."""
        entry = FunctionEntry(
            function_id=function_id,
            namespace=DEFAULT_NAMESPACE,
            handler=adapt(handler, run_sync_in_thread=False),
            worker_name=self.name,
            description=description,
        )
        if is_eager(handler):
            entry.extra["eager"] = True
        if is_immediate(handler):
            entry.immediate = handler
        if request_format is None and (typed := input_type(handler)) is not None:
            request_format = request_schema(typed)  # as Worker.register_function does
        if request_format is not None:
            entry.request_format = to_raw(request_format)
        if response_format is not None:
            entry.response_format = to_raw(response_format)
        if metadata is not None:
            entry.metadata = to_raw(metadata)
        self.functions.put(entry)
        self._functions[function_id] = entry

    def unregister_function(self, function_id: str) -> None:
        """Remove a function this worker registered (if it is still the registered one)."""
        entry = self._functions.pop(function_id, None)
        if entry is not None:
            self.functions.remove(DEFAULT_NAMESPACE, function_id, only=entry)

    def register_trigger_type(self, trigger_type: TriggerType) -> None:
        """Provide a trigger type; parked bindings are delivered to it."""
        require_subclass(trigger_type, TriggerType, f"worker {self.name!r}: trigger type")
        self._trigger_types.add(trigger_type.id)
        self._track(self.triggers.add_type(trigger_type, worker_name=self.name))

    def unregister_trigger_type(self, trigger_type_id: str) -> None:
        """Stop providing a trigger type."""
        self._trigger_types.discard(trigger_type_id)
        self._track(self.triggers.remove_type((DEFAULT_NAMESPACE, trigger_type_id), owner=None))

    async def create_channel(self, buffer_size: int = 64) -> Channel:
        """A data channel whose sides this worker may claim locally."""
        return self._create_channel(buffer_size)

    @property
    def function_count(self) -> int:
        """How many functions this worker has registered."""
        return len(self._functions)

    # --- lifecycle -------------------------------------------------------------------------------

    def _track(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        """Wait until trigger-type registrations made so far have been applied."""
        while self._pending:
            await asyncio.gather(*list(self._pending))

    async def withdraw(self) -> None:
        """Remove everything this worker registered."""
        await self.settle()
        for function_id in list(self._functions):
            self.unregister_function(function_id)
        for type_id in list(self._trigger_types):
            await self.triggers.remove_type((DEFAULT_NAMESPACE, type_id), owner=None)
        self._trigger_types.clear()


class RunningBuiltin:
    """A started built-in worker and its context."""

    def __init__(self, instance_id: str, worker: BuiltinWorker, ctx: LocalWorkerContext) -> None:
        require_subclass(worker, BuiltinWorker, f"worker {instance_id!r}")
        self.instance_id = instance_id
        self.worker = worker
        self.ctx = ctx

    async def start(self) -> None:
        """Start the worker and wait for its registrations to apply."""
        await self.worker.start(self.ctx)
        await self.ctx.settle()

    async def stop(self) -> None:
        """Stop the worker, then remove its registrations."""
        try:
            await self.worker.stop()
        finally:
            await self.ctx.withdraw()
