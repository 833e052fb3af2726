"""How the console reaches the engine: in-process, or as an ordinary worker.

Both backends offer the same three things: call a function, bind a handler to a trigger, and
undo that binding. :class:`LocalBackend` uses the built-in's :class:`WorkerContext` (bindings are
made with ``engine::register_trigger``); :class:`WorkerBackend` connects to a worker listener with
``iii_sdk.Worker`` and configured headers, so the engine's access control applies to the console
exactly as it does to any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from iii_sdk.errors import InvocationError
from iii_sdk.plugin import WorkerContext
from iii_sdk.worker import Worker

__all__ = ["Backend", "EventHandler", "LocalBackend", "WorkerBackend"]

EventHandler = Callable[[Any], Awaitable[None]]
INTERNAL = {"internal": True}
"""Metadata of the console's own handlers: hidden from ``engine::functions::list``."""


def _handler_id(prefix: str) -> str:
    return f"{prefix}::on::{uuid.uuid4().hex[:12]}"


class Backend(Protocol):
    """What the console needs from the engine."""

    mode: str

    async def start(self) -> None:
        """Connect (if needed)."""
        ...

    async def close(self) -> None:
        """Undo every binding and disconnect."""
        ...

    async def call(self, function_id: str, payload: Any, timeout_ms: float | None) -> Any:
        """Invoke a function; raise :class:`InvocationError` on failure."""
        ...

    async def bind(self, trigger_type: str, config: Any, handler: EventHandler) -> str:
        """Bind ``handler`` to a trigger; returns a key for :meth:`unbind`."""
        ...

    async def unbind(self, key: str) -> None:
        """Remove a binding made by :meth:`bind`."""
        ...


class LocalBackend:
    """In-process: the engine's full view, no extra connection."""

    mode = "local"

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self._bindings: dict[str, str] = {}  # handler function id -> binding id

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Remove the console's bindings and handlers."""
        for key in list(self._bindings):
            await self.unbind(key)

    async def call(self, function_id: str, payload: Any, timeout_ms: float | None) -> Any:
        """Invoke through the engine's router."""
        return await self.ctx.invoke(function_id, payload, timeout_ms=timeout_ms)

    async def bind(self, trigger_type: str, config: Any, handler: EventHandler) -> str:
        """Register ``handler`` as a hidden function, then an ownerless binding to it.

        In process the handler is an ``engine::`` function, so its deliveries count as the
        engine's own work (not traced, not listed) rather than the application's."""
        function_id = _handler_id(f"engine::{self.ctx.name}")
        self.ctx.register_function(function_id, handler, metadata=INTERNAL)
        try:
            result = await self.ctx.invoke(
                "engine::register_trigger",
                {"trigger_type": trigger_type, "function_id": function_id, "config": config},
            )
        except BaseException:
            self.ctx.unregister_function(function_id)
            raise
        self._bindings[function_id] = str(result["id"])
        return function_id

    async def unbind(self, key: str) -> None:
        """Remove the binding, then the handler."""
        binding_id = self._bindings.pop(key, None)
        if binding_id is None:
            return
        try:
            await self.ctx.invoke("engine::unregister_trigger", {"id": binding_id})
        finally:
            self.ctx.unregister_function(key)


class WorkerBackend:
    """A worker connection to ``url`` with ``headers``: sees what its session may see."""

    mode = "worker"

    def __init__(self, url: str, headers: dict[str, str], name: str) -> None:
        self.worker = Worker(url, name=name, headers=headers or None)
        self._handles: dict[str, Any] = {}
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start connecting, without waiting: the engine's start must not hang on a listener
        that is down or refuses the credentials (the SDK retries with backoff)."""
        self._connecting = asyncio.get_running_loop().create_task(self.worker.connect())

    async def close(self) -> None:
        """Disconnect; the engine drops the connection's registrations."""
        self._handles.clear()
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        await self.worker.close()

    async def call(self, function_id: str, payload: Any, timeout_ms: float | None) -> Any:
        """Invoke over the worker connection (waiting for it to be up, within the timeout)."""
        timeout = (timeout_ms or self.worker.invocation_timeout_ms) / 1000
        if self._connecting is not None and not self._connecting.done():
            done, _ = await asyncio.wait({self._connecting}, timeout=timeout)
            if not done:
                raise InvocationError("TIMEOUT", "the console is not connected to the engine yet")
        return await self.worker.trigger(function_id, payload, timeout_ms=timeout_ms)

    async def bind(self, trigger_type: str, config: Any, handler: EventHandler) -> str:
        """Register a hidden function and a trigger on this connection."""
        function_id = _handler_id(self.worker.name or "iii-console")
        self.worker.register_function(function_id, handler, metadata=INTERNAL)
        self._handles[function_id] = self.worker.register_trigger(trigger_type, function_id, config)
        return function_id

    async def unbind(self, key: str) -> None:
        """Unregister the trigger and the function."""
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.unregister()
            self.worker.unregister_function(key)
