"""Run a built-in worker out of process: a :class:`~iii_sdk.plugin.WorkerContext` over a Worker.

::

    worker = Worker(name="iii-webhook")
    await WebhookWorker(config).start(RemoteContext(worker))
    await worker.connect()

Registrations map onto the worker's (replayed on reconnect), invocations onto
:meth:`Worker.trigger`, channels onto ``engine::channels::create``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iii_sdk.channels import ChannelReader, ChannelWriter
from iii_sdk.handlers import Handler
from iii_sdk.observer import Observer
from iii_sdk.plugin import Channel, TriggerType
from iii_sdk.protocol import StreamChannelRef

if TYPE_CHECKING:
    from iii_sdk.worker import Worker

__all__ = ["RemoteChannel", "RemoteContext"]

log = logging.getLogger("iii.sdk")


def _ref(value: Any) -> StreamChannelRef:
    return StreamChannelRef(value["channel_id"], value["access_key"], value["direction"])


class RemoteChannel(Channel):
    """A data channel created through the engine (satisfies :class:`iii_sdk.plugin.Channel`)."""

    def __init__(self, reader_ref: StreamChannelRef, writer_ref: StreamChannelRef, url: str):
        self._reader_ref = reader_ref
        self._writer_ref = writer_ref
        self._url = url
        self._writer: ChannelWriter | None = None
        self._reader: ChannelReader | None = None
        self._discarding: asyncio.Task[None] | None = None

    @property
    def reader_ref(self) -> StreamChannelRef:
        """The ref that claims the read side."""
        return self._reader_ref

    @property
    def writer_ref(self) -> StreamChannelRef:
        """The ref that claims the write side."""
        return self._writer_ref

    async def writer(self) -> ChannelWriter:
        """Claim the write side locally."""
        if self._writer is None:
            self._writer = ChannelWriter(self.writer_ref, self._url)
        return self._writer

    async def reader(self) -> ChannelReader:
        """Claim the read side locally."""
        if self._reader is None:
            self._reader = ChannelReader(self.reader_ref, self._url)
        return self._reader

    def discard(self) -> None:
        """End the channel now: the reader sees end-of-stream, a local reader stops.

        There is no delete on the wire, so the write side is claimed (if nobody holds it) and
        closed; a side held by another party ends when that party closes it, and a channel
        never opened by both sides is swept by the engine.
        """
        if self._discarding is None:
            self._discarding = asyncio.get_running_loop().create_task(self._discard())

    async def _discard(self) -> None:
        writer = self._writer or ChannelWriter(self.writer_ref, self._url)
        ends: list[ChannelWriter | ChannelReader] = [writer]
        if self._reader is not None:
            ends.append(self._reader)
        for end in ends:
            try:
                await end.close()
            except Exception as exc:  # the other party may hold or have closed that side
                log.debug("discarding channel %s: %s", self.reader_ref.channel_id, exc)


class RemoteContext:
    """A :class:`~iii_sdk.plugin.WorkerContext` whose every call goes through a :class:`Worker`."""

    def __init__(
        self,
        worker: Worker,
        *,
        name: str | None = None,
        base_dir: Path | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.worker = worker
        self.name = name or worker.name
        self.base_dir = base_dir or Path.cwd()
        self.logger = logger or logging.getLogger(f"iii.worker.{self.name}")
        self.observer: Observer | None = None
        """Out of process there is no engine observer: the worker's own spans (opentelemetry)
        cover its calls."""

    async def invoke(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = "default",
        timeout_ms: float | None = None,
    ) -> Any:
        """Invoke a function and return its result."""
        return await self.worker.trigger(
            function_id, payload, metadata=metadata, namespace=namespace, timeout_ms=timeout_ms
        )

    def invoke_void(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = "default",
    ) -> None:
        """Invoke without waiting for the result (frames keep their call order)."""
        self.worker.trigger_void(function_id, payload, metadata=metadata, namespace=namespace)

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
        """Export a function through the worker."""
        self.worker.register_function(
            function_id,
            handler,
            description=description,
            request_format=request_format,
            response_format=response_format,
            metadata=metadata,
        )

    def unregister_function(self, function_id: str) -> None:
        """Withdraw a function."""
        self.worker.unregister_function(function_id)

    def register_trigger_type(self, trigger_type: TriggerType) -> None:
        """Provide a trigger type through the worker."""
        self.worker.register_trigger_type(trigger_type)

    def unregister_trigger_type(self, trigger_type_id: str) -> None:
        """Stop providing a trigger type."""
        self.worker.unregister_trigger_type(trigger_type_id)

    def has_function(self, function_id: str) -> None:
        """Unknown out of process without a round trip: callers invoke and handle the error."""
        return None

    async def create_channel(self, buffer_size: int = 64) -> RemoteChannel:
        """Create a data channel with ``engine::channels::create``."""
        refs = await self.worker.trigger("engine::channels::create", {"buffer_size": buffer_size})
        return RemoteChannel(_ref(refs["reader"]), _ref(refs["writer"]), self.worker.url)
