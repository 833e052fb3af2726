"""Data channels on the worker side: stream bytes and control messages through the engine.

A payload may carry channel refs, ``{"channel_id", "access_key", "direction"}`` objects (an HTTP
handler gets ``request_body`` to read and ``response`` to write).
:func:`resolve_channel_refs` replaces each ref by a :class:`ChannelReader` (direction ``read``)
or a :class:`ChannelWriter` (direction ``write``), which open a WebSocket to
``<engine url>/ws/channels/<id>?key=<key>&dir=<read|write>`` on first use::

    async def upload(req):
        data = await req["request_body"].read_all()
        out = req["response"]
        await out.send_message({"type": "set_status", "status_code": 201})
        await out.write(data)
        await out.close()

Binary frames carry data, text frames carry control messages; both keep their order.
:func:`encode_channel_refs` (or :func:`enc_hook` for msgspec) turns readers and writers back into
refs for sending.
"""

from __future__ import annotations

from typing import Any, Final

import aiohttp

from iii_sdk._channel_ends import (
    MAX_FRAME_SIZE,
    ChannelError,
    ChannelReader,
    ChannelWriter,
    channel_url,
)
from iii_sdk.protocol import StreamChannelRef

__all__ = [
    "MAX_FRAME_SIZE",
    "ChannelError",
    "ChannelReader",
    "ChannelWriter",
    "channel_ref",
    "channel_url",
    "enc_hook",
    "encode_channel_refs",
    "is_channel_ref",
    "resolve_channel_refs",
]


def is_channel_ref(value: Any) -> bool:
    """Whether ``value`` is a channel ref object (string id and key, direction read/write)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("channel_id"), str)
        and isinstance(value.get("access_key"), str)
        and value.get("direction") in ("read", "write")
    )


def resolve_channel_refs(
    payload: Any,
    engine_url: str,
    *,
    session: aiohttp.ClientSession | None = None,
    at_most: int | None = None,
) -> Any:
    """Return ``payload`` with every channel ref replaced by a reader or writer.

    Refs are found at any depth in dicts and lists; other values are returned as they are, and
    so are dicts and lists holding no ref (``payload`` itself is never changed).
    ``session``, when given, is shared by the created ends (otherwise each end opens its own).
    ``at_most``, when known (the number of ``"channel_id"`` keys in the JSON the payload was
    decoded from), stops the search once that many refs are found; a container's own refs
    are looked at before the containers inside it, so an HTTP request's two refs are found
    without walking its headers.
    """
    walk = _Walk(engine_url, session, -1 if at_most is None else at_most)
    return walk.resolve(payload)


_CONTAINERS: Final = (dict, list)
"""What :func:`resolve_channel_refs` looks inside."""


class _Walk:
    """One :func:`resolve_channel_refs` search: where ends connect, and the refs left to find."""

    __slots__ = ("engine_url", "left", "session")

    def __init__(self, engine_url: str, session: aiohttp.ClientSession | None, left: int) -> None:
        self.engine_url = engine_url
        self.session = session
        self.left = left
        """Refs still to find; negative: no limit."""

    def end(self, ref: dict[str, Any]) -> ChannelReader | ChannelWriter:
        self.left -= 1
        channel = StreamChannelRef(ref["channel_id"], ref["access_key"], ref["direction"])
        if channel.direction == "read":
            return ChannelReader(channel, self.engine_url, session=self.session)
        return ChannelWriter(channel, self.engine_url, session=self.session)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "channel_id" in value and is_channel_ref(value):
                return self.end(value)
            return self._children(value, value.items())
        if isinstance(value, list):
            return self._children(value, enumerate(value))
        return value

    def _children(self, value: Any, items: Any) -> Any:
        """``value`` (a dict or a list) with the refs among its children resolved: a copy
        when any was found, else ``value`` itself."""
        nested = []
        copy = None
        for key, child in items:
            if isinstance(child, dict) and "channel_id" in child and is_channel_ref(child):
                if copy is None:
                    copy = value.copy()
                copy[key] = self.end(child)
            elif child and isinstance(child, _CONTAINERS):
                nested.append((key, child))
        for key, child in nested:
            if self.left == 0:
                break
            resolved = self.resolve(child)
            if resolved is not child:
                if copy is None:
                    copy = value.copy()
                copy[key] = resolved
        return value if copy is None else copy


def channel_ref(end: ChannelReader | ChannelWriter | StreamChannelRef) -> dict[str, str]:
    """The wire form of a reader's, writer's or ref's channel reference."""
    ref = end if isinstance(end, StreamChannelRef) else end.ref
    return {"channel_id": ref.channel_id, "access_key": ref.access_key, "direction": ref.direction}


def encode_channel_refs(payload: Any) -> Any:
    """Return ``payload`` with readers, writers and refs replaced by their wire refs."""
    if isinstance(payload, ChannelReader | ChannelWriter | StreamChannelRef):
        return channel_ref(payload)
    if isinstance(payload, dict):
        return {k: encode_channel_refs(v) for k, v in payload.items()}
    if isinstance(payload, list | tuple):
        return [encode_channel_refs(v) for v in payload]
    return payload


def enc_hook(obj: Any) -> Any:
    """A msgspec ``enc_hook`` encoding readers and writers as their refs."""
    if isinstance(obj, ChannelReader | ChannelWriter):
        return channel_ref(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")
