"""The ``bridge`` adapter: state lives on another engine (workers.md §3.7).

Every operation is forwarded to the engine at ``bridge_url`` as a ``state::*`` call over the
worker protocol (:class:`plugins._shared.bridge.BridgeLink`); the local engine still fires its
own ``state`` triggers from the results. ``update`` sends the ops themselves
(:meth:`BridgeAdapter.update_ops`), so the remote applies them atomically. A stored JSON
``null`` reads back as "missing" (the remote answers both the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from plugins._shared.bridge import BridgeLink
from plugins._shared.update_ops import UpdateOp
from plugins.state.adapters.base import StateAdapter

__all__ = ["BridgeAdapter"]

T = TypeVar("T")

_encode = msgspec.json.Encoder().encode


def _bytes(value: Any) -> bytes | None:
    return None if value is None else _encode(value)


class BridgeAdapter(StateAdapter):
    """A :class:`plugins.state.adapters.base.StateAdapter` answered by a remote engine."""

    def __init__(self, url: str) -> None:
        self.link = BridgeLink(url, "iii-state-bridge")

    async def open(self) -> None:
        """Connect to the remote engine."""
        await self.link.open()

    async def close(self) -> None:
        """Disconnect."""
        await self.link.close()

    async def set(self, scope: str, key: str, data: bytes) -> bytes | None:
        """Remote ``state::set``; return the previous value."""
        payload = {"scope": scope, "key": key, "value": msgspec.Raw(data)}
        result = await self.link.call("state::set", payload)
        return _bytes(result.get("old_value") if isinstance(result, dict) else None)

    async def get(self, scope: str, key: str) -> bytes | None:
        """Remote ``state::get``."""
        return _bytes(await self.link.call("state::get", {"scope": scope, "key": key}))

    async def delete(self, scope: str, key: str) -> bytes | None:
        """Remote ``state::delete``; return the removed value."""
        return _bytes(await self.link.call("state::delete", {"scope": scope, "key": key}))

    async def update(
        self, scope: str, key: str, transform: Callable[[bytes | None], tuple[bytes, T]]
    ) -> tuple[bytes | None, bytes, T]:
        """Refused: a transform cannot run on the remote engine atomically; ``state::update``
        sends its ops with :meth:`update_ops` instead."""
        raise NotImplementedError("the bridge applies update ops remotely (update_ops)")

    async def update_ops(
        self, scope: str, key: str, ops: list[UpdateOp]
    ) -> tuple[Any, Any, list[dict[str, Any]]]:
        """Remote ``state::update``: ``(old value or None, new value, errors)``."""
        payload = {"scope": scope, "key": key, "ops": msgspec.to_builtins(ops)}
        result = await self.link.call("state::update", payload)
        return result.get("old_value"), result.get("new_value"), result.get("errors", [])

    async def list_values(self, scope: str) -> list[bytes]:
        """Remote ``state::list``."""
        values = await self.link.call("state::list", {"scope": scope})
        return [_encode(value) for value in values or []]

    async def list_groups(self) -> list[str]:
        """Remote ``state::list_groups``."""
        result = await self.link.call("state::list_groups", {})
        groups = result.get("groups", []) if isinstance(result, dict) else result
        return sorted(groups or [])
