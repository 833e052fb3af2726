"""The stream ``bridge`` adapter: items live on another engine (workers.md §4.7).

:class:`BridgeStore` forwards ``stream::set/get/delete/update/list/list_groups/list_all`` to the
remote engine. :class:`BridgeBus` carries this engine's events through the remote engine's
pub/sub, like upstream: each event is published on topic ``stream.events`` there, and every
bridged engine receives it back through a ``subscribe`` binding of a function named
``stream::bridge::on_pub::<uuid>``, then delivers it to its own WebSocket subscribers. The remote
engine needs ``iii-pubsub`` for events to flow.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from plugins._shared.bridge import BridgeLink
from plugins._shared.update_ops import MISSING, UpdateOp
from plugins.stream.events import Deliver, Routing
from plugins.stream.store import UpdateResult

__all__ = ["EVENTS_TOPIC", "BridgeBus", "BridgeStore"]

EVENTS_TOPIC = "stream.events"

_encode = msgspec.json.Encoder().encode


def _item(stream: str, group: str, item: str) -> dict[str, str]:
    return {"stream_name": stream, "group_id": group, "item_id": item}


class BridgeStore:
    """A :class:`plugins.stream.store.StreamStore` answered by the remote engine."""

    def __init__(self, link: BridgeLink) -> None:
        self.link = link

    async def open(self) -> None:
        """The link is opened by the worker (it is shared with the bus)."""

    async def close(self) -> None:
        """The link is closed by the worker."""

    async def set(self, stream: str, group: str, item: str, value: Any, data: bytes) -> Any:
        """Remote ``stream::set``; a null old value reads as "was missing"."""
        payload = {**_item(stream, group, item), "data": msgspec.Raw(data)}
        result = await self.link.call("stream::set", payload)
        old = result.get("old_value") if isinstance(result, dict) else None
        return MISSING if old is None else old

    async def get(self, stream: str, group: str, item: str) -> Any:
        """Remote ``stream::get``."""
        return await self.link.call("stream::get", _item(stream, group, item))

    async def delete(self, stream: str, group: str, item: str) -> Any:
        """Remote ``stream::delete``."""
        result = await self.link.call("stream::delete", _item(stream, group, item))
        old = result.get("old_value") if isinstance(result, dict) else None
        return MISSING if old is None else old

    async def update(
        self, stream: str, group: str, item: str, ops: list[UpdateOp], max_bytes: int
    ) -> UpdateResult:
        """Remote ``stream::update`` (the remote applies its own size limit)."""
        payload = {**_item(stream, group, item), "ops": msgspec.to_builtins(ops)}
        result = await self.link.call("stream::update", payload)
        old = result.get("old_value")
        return (MISSING if old is None else old), result.get("new_value"), result.get("errors", [])

    async def list_items(self, stream: str, group: str) -> list[Any]:
        """Remote ``stream::list``."""
        result = await self.link.call("stream::list", {"stream_name": stream, "group_id": group})
        return list(result or [])

    async def list_groups(self, stream: str) -> list[str]:
        """Remote ``stream::list_groups``."""
        result = await self.link.call("stream::list_groups", {"stream_name": stream})
        return sorted(result or [])

    async def list_all(self) -> dict[str, list[str]]:
        """Remote ``stream::list_all``."""
        result = await self.link.call("stream::list_all", {})
        return {row["id"]: list(row["groups"]) for row in result.get("stream", [])}


class BridgeBus:
    """Events through the remote engine's ``publish`` / ``subscribe``."""

    def __init__(self, link: BridgeLink) -> None:
        self.link = link
        self.function_id = f"stream::bridge::on_pub::{uuid.uuid4()}"
        self._routing = msgspec.json.Decoder(Routing)

    async def start(self, deliver: Deliver) -> None:
        """Bind a function of ours to the remote topic (sent with the link's registrations)."""

        async def received(data: Any) -> None:  # async: runs on the loop, not a thread
            frame = _encode(data)
            where = self._routing.decode(frame)
            deliver(where.streamName, where.groupId, where.id, frame)

        worker = self.link.worker
        worker.register_function(self.function_id, received)
        worker.register_trigger("subscribe", self.function_id, {"topic": EVENTS_TOPIC})
        # A round trip on the same socket: the binding is live on the remote when it answers.
        await self.link.call("engine::functions::list", {})

    def publish(self, stream: str, group: str, item: str | None, frame: bytes) -> None:
        """Publish on the remote topic (frames go out in call order)."""
        self.link.worker.trigger_void(
            "publish", {"topic": EVENTS_TOPIC, "data": msgspec.Raw(frame)}
        )

    async def stop(self) -> None:
        """Nothing of its own: the link closes with the worker."""
