"""The subscription WebSocket (workers.md §4.4): ``ws://host:3112/``.

Client frames (text, or binary holding the same JSON)::

    {"type": "join",  "data": {"subscriptionId": "s1", "streamName": "chat", "groupId": "room-1",
                               "id": "item-7"}}             # id optional
    {"type": "leave", "data": {"subscriptionId": "s1", ...}}

A ``join`` runs the ``stream:join`` bindings (a refusal answers the wrapper with
``event: {"type": "unauthorized"}``), then sends the initial ``sync`` (``stream::get`` of the item,
or ``stream::list`` of the group, so custom streams answer too), then every matching event.
``leave`` and closing the socket run the ``stream:leave`` bindings. Blank frames are ignored;
malformed ones are logged and ignored, the socket stays open.

Limits and close codes: a client frame larger than :data:`MAX_CLIENT_FRAME` closes with 1009;
more than ``max_subscriptions_per_socket`` joins closes with 1008; a send buffer overflow closes
with 4008; a failed ``auth_function`` closes with 4001 right after the upgrade (decisions §2.4:
upstream would accept the socket without a context).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Final

import msgspec
from aiohttp import WSMsgType, web

from iii_sdk.plugin import WorkerContext
from plugins.stream.config import StreamConfig
from plugins.stream.events import wrapper
from plugins.stream.hub import (
    CLOSE_TOO_MANY_SUBSCRIPTIONS,
    CLOSE_UNAUTHORIZED,
    Hub,
    Subscriber,
    Subscription,
    text_frame,
)
from plugins.stream.trigger import MembershipTriggerType

__all__ = ["MAX_CLIENT_FRAME", "StreamServer"]

log = logging.getLogger("iii.stream")

MAX_CLIENT_FRAME: Final = 64 * 1024
"""Largest client frame accepted (joins and leaves are tiny)."""
SHUTDOWN_GRACE: Final = 1.0

_encode = msgspec.json.Encoder().encode


class _Frame(msgspec.Struct):
    type: str
    data: Any = None


class _Join(msgspec.Struct):
    subscriptionId: str
    streamName: str
    groupId: str
    id: str | None = None


class _Leave(msgspec.Struct):
    subscriptionId: str


_decode_frame = msgspec.json.Decoder(_Frame).decode


class StreamServer:
    """Accepts subscriber sockets and serves the join/leave protocol."""

    def __init__(
        self,
        config: StreamConfig,
        ctx: WorkerContext,
        hub: Hub,
        joins: MembershipTriggerType,
        leaves: MembershipTriggerType,
    ) -> None:
        self.config = config
        self.ctx = ctx
        self.hub = hub
        self.joins = joins
        self.leaves = leaves
        self.port: int | None = None
        self._runner: web.ServerRunner | None = None
        self._sockets: set[Subscriber] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Listen on the configured host and port (``port`` holds the bound one)."""
        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets: list[socket.socket] = list(getattr(site._server, "sockets", ()) or ())
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port

    async def stop(self) -> None:
        """Close every socket (1001) and the listener."""
        for sub in list(self._sockets):
            sub.drop(1001, "server stopping")  # a close frame, without waiting for the reply
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for task in list(self._tasks):
            task.cancel()

    # --- one socket ------------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path != "/":
            return web.Response(status=404, text="not found")
        authorized, context = await self._authenticate(request)
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=MAX_CLIENT_FRAME)
        await ws.prepare(request)
        if not authorized:
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"unauthorized")
            return ws
        transport = request.transport
        assert transport is not None
        sub = Subscriber(
            transport, self.config.send_buffer_bytes, context, self._forget, self.hub.flusher
        )
        self._sockets.add(sub)
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_frame(sub, message.data)
                    if sub.closed:
                        break
        finally:
            self._sockets.discard(sub)
            sub.closed = True
            self._forget(sub)
        return ws

    async def _authenticate(self, request: web.BaseRequest) -> tuple[bool, Any]:
        function_id = self.config.auth_function
        if not function_id:
            return True, None
        query: dict[str, list[str]] = {}
        for key, value in request.query.items():
            query.setdefault(key, []).append(value)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        payload = {
            "headers": {key.lower(): value for key, value in request.headers.items()},
            "path": request.path,
            "query_params": query,
            "addr": f"{peer[0]}:{peer[1]}" if peer else "",
        }
        try:
            result = await self.ctx.invoke(function_id, payload)
        except Exception as exc:
            log.warning("iii-stream: auth function %s failed: %s", function_id, exc)
            return False, None
        if not isinstance(result, dict) or "context" not in result:
            log.warning("iii-stream: auth function %s returned no context", function_id)
            return False, None
        return True, result["context"]

    async def _on_frame(self, sub: Subscriber, data: str | bytes) -> None:
        if not data.strip():
            return
        try:
            frame = _decode_frame(data)
            if frame.type == "join":
                await self._join(sub, msgspec.convert(frame.data, _Join))
            elif frame.type == "leave":
                self._leave(sub, msgspec.convert(frame.data, _Leave).subscriptionId)
            else:
                log.warning("iii-stream: ignored a frame of unknown type %r", frame.type)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("iii-stream: ignored a malformed subscription frame: %s", exc)

    async def _join(self, sub: Subscriber, join: _Join) -> None:
        old = sub.subscriptions.get(join.subscriptionId)
        if old is not None:
            self._leave(sub, join.subscriptionId)
        elif len(sub.subscriptions) >= self.config.max_subscriptions_per_socket:
            limit = self.config.max_subscriptions_per_socket
            sub.drop(CLOSE_TOO_MANY_SUBSCRIPTIONS, f"more than {limit} subscriptions")
            return
        stream, group, item = join.streamName, join.groupId, join.id
        allowed = await self.joins.run(self._membership(sub, join.subscriptionId, join))
        if not allowed:
            refused = wrapper(
                stream, group, item, {"type": "unauthorized"}, self.hub.clock.current()
            )
            sub.write(text_frame(_encode(refused)))
            return
        if sub.closed:
            return
        key = (stream, group, item)
        subscription = Subscription(sub, join.subscriptionId, stream, group, item)
        sub.subscriptions[join.subscriptionId] = subscription
        self.hub.add(subscription)
        # Stamped before the read: the events held meanwhile are newer than the sync, so clients
        # that drop stale frames keep them. An item's sync takes a stamp in that item's sequence.
        now = self.hub.clock.current() if item is None else self.hub.clock.stamp(key)
        try:
            if item is None:
                where = {"stream_name": stream, "group_id": group}
                data = await self.ctx.invoke("stream::list", where)
            else:
                where = {"stream_name": stream, "group_id": group, "item_id": item}
                data = await self.ctx.invoke("stream::get", where)
        except Exception as exc:
            log.warning("iii-stream: join %s/%s failed to read its sync: %s", stream, group, exc)
            sub.subscriptions.pop(join.subscriptionId, None)
            self.hub.remove(subscription)
            return
        sync = wrapper(stream, group, item, {"type": "sync", "data": data}, now)
        subscription.release(text_frame(_encode(sync)))

    def _leave(self, sub: Subscriber, sub_id: str) -> None:
        subscription = sub.subscriptions.pop(sub_id, None)
        if subscription is None:
            return
        self.hub.remove(subscription)
        self._spawn(self.leaves.run(self._membership(sub, sub_id, subscription)))

    def _forget(self, sub: Subscriber) -> None:
        for sub_id in list(sub.subscriptions):
            self._leave(sub, sub_id)

    @staticmethod
    def _membership(sub: Subscriber, sub_id: str, where: _Join | Subscription) -> dict[str, Any]:
        if isinstance(where, Subscription):
            stream, group, item = where.stream, where.group, where.item
        else:
            stream, group, item = where.streamName, where.groupId, where.id
        return {
            "subscription_id": sub_id,
            "stream_name": stream,
            "group_id": group,
            "id": item,
            "context": sub.context,
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
