"""The iii-stream built-in worker: store, event bus, triggers, functions and the WebSocket."""

from __future__ import annotations

from typing import Any

import msgspec

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from plugins._shared.bridge import BridgeLink
from plugins.state.adapters import FileAdapter, MemoryAdapter
from plugins.stream.config import StoreChoice, StreamConfig, resolve_store
from plugins.stream.events import EventBus, LocalBus, RedisBus, wrapper
from plugins.stream.functions import StreamFunctions
from plugins.stream.hub import Hub
from plugins.stream.server import StreamServer
from plugins.stream.store import KeyedStore, StreamStore
from plugins.stream.trigger import MembershipTriggerType, StreamTriggerType

__all__ = ["StreamWorker"]

_encode = msgspec.json.Encoder().encode


def _open_parts(choice: StoreChoice) -> tuple[StreamStore, EventBus, BridgeLink | None]:
    if choice.kind == "bridge":
        from plugins.stream.bridge import BridgeBus, BridgeStore

        assert choice.url is not None
        link = BridgeLink(choice.url, "iii-stream-bridge", choice.connect_timeout_ms)
        return BridgeStore(link), BridgeBus(link), link
    if choice.kind == "redis":
        # Imported lazily: redis is an optional dependency (extra ``redis``).
        from plugins.state.adapters.redis_adapter import RedisAdapter

        assert choice.url is not None
        return KeyedStore(RedisAdapter(choice.url, prefix="stream:")), RedisBus(choice.url), None
    if choice.kind == "file":
        assert choice.path is not None
        return KeyedStore(FileAdapter(choice.path)), LocalBus(), None
    return KeyedStore(MemoryAdapter()), LocalBus(), None


class StreamWorker(BuiltinWorker):
    """Registers the ``stream::*`` functions and trigger types and serves subscriptions.

    After :meth:`start`, ``port`` is the bound WebSocket port (the ephemeral one for ``port: 0``).
    """

    def __init__(self, config: StreamConfig | None = None) -> None:
        self.config = config or StreamConfig()
        self.port: int | None = None
        self.hub = Hub()
        self.clock = self.hub.clock
        self.store: StreamStore | None = None
        self.bus: EventBus | None = None
        self.triggers: StreamTriggerType | None = None
        self._link: BridgeLink | None = None
        self._server: StreamServer | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Open the store and bus, register everything, then listen."""
        store, bus, link = _open_parts(resolve_store(self.config, ctx.base_dir))
        if link is not None:
            await link.open()
            self._link = link
        await store.open()
        self.store = store
        await bus.start(self.hub.deliver)
        self.bus = bus
        triggers = StreamTriggerType(ctx)
        triggers.start()
        self.triggers = triggers
        joins = MembershipTriggerType(ctx, "stream:join")
        leaves = MembershipTriggerType(ctx, "stream:leave")
        for provider in (triggers, joins, leaves):
            ctx.register_trigger_type(provider)
        StreamFunctions(ctx, store, self.emit, max_item_bytes=self.config.max_item_bytes).register()
        server = StreamServer(self.config, ctx, self.hub, joins, leaves)
        await server.start()
        self._server = server
        self.port = server.port

    def emit(self, stream: str, group: str, item: str | None, event: dict[str, Any]) -> None:
        """Wrap ``event``, queue it for the ``stream`` bindings, publish it to subscribers."""
        message = wrapper(stream, group, item, event, self.clock.stamp((stream, group, item)))
        if self.triggers is not None:
            self.triggers.emit(message)
        if self.bus is not None:
            self.bus.publish(stream, group, item, _encode(message))

    async def stop(self) -> None:
        """Close the sockets, stop delivery, flush and close the store."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
        triggers, self.triggers = self.triggers, None
        if triggers is not None:
            await triggers.close()
        bus, self.bus = self.bus, None
        if bus is not None:
            await bus.stop()
        store, self.store = self.store, None
        if store is not None:
            await store.close()
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    def urls(self) -> dict[str, str]:
        """Where the worker listens, for the engine's banner."""
        port = self.port if self.port is not None else self.config.port
        return {"streams": f"ws://{self.config.host}:{port}/"}
