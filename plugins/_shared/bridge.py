"""A connection to another iii engine, as an ordinary SDK worker (the ``bridge`` adapters).

The state and stream ``bridge`` adapters (workers.md §3.7, §4.7) forward their operations to
the engine at ``bridge_url`` by invoking its ``state::*`` / ``stream::*`` functions over the
worker protocol, with :class:`iii_sdk.Worker`. The link reconnects on its own; calls made while
it is down wait (up to the call timeout) and then fail with the SDK's error.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from iii_sdk.worker import Worker

__all__ = ["BridgeLink"]

CONNECT_TIMEOUT_MS: Final = 10_000.0
CALL_TIMEOUT_MS: Final = 30_000.0


class BridgeLink:
    """One worker connection to the remote engine."""

    def __init__(self, url: str, name: str, connect_timeout_ms: float = CONNECT_TIMEOUT_MS) -> None:
        self.url = url
        self.connect_timeout_ms = connect_timeout_ms
        self.worker = Worker(url, name=name, invocation_timeout_ms=CALL_TIMEOUT_MS)

    async def open(self) -> None:
        """Connect; raise ``ConnectionError`` if the remote does not answer in time."""
        try:
            async with asyncio.timeout(self.connect_timeout_ms / 1000):
                await self.worker.connect()
        except TimeoutError as exc:
            await self.worker.close()
            raise ConnectionError(f"bridge: no engine answered at {self.url}") from exc

    async def close(self) -> None:
        """Disconnect."""
        await self.worker.close()

    async def call(self, function_id: str, payload: Any) -> Any:
        """Invoke ``function_id`` on the remote engine and return its result."""
        return await self.worker.trigger(function_id, payload)
