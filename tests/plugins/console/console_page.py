"""A client of the console's ``/ws`` bridge, speaking to it as the page's ``rpc.js`` does."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

WAIT = 10.0


class Page:
    """A bridge client, as the page's rpc.js is."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = message.json()
            if "id" in data and data["id"] in self.replies:
                self.replies.pop(data["id"]).set_result(data)
            else:
                await self.events.put(data)

    async def request(self, **request: Any) -> dict[str, Any]:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.replies[self.next_id] = future
        await self.ws.send_json({**request, "id": self.next_id})
        return await asyncio.wait_for(future, WAIT)

    async def event(self, kind: str, what: str | None = None) -> dict[str, Any]:
        """The next push of ``kind`` (whose ``data.event`` is ``what``, when given)."""
        while True:
            data = await asyncio.wait_for(self.events.get(), WAIT)
            matches = data.get("event") == kind or kind in data
            if matches and (what is None or data["data"].get("event") == what):
                return data
