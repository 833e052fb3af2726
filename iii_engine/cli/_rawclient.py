"""A minimal one-shot wire client for the CLI (``iii trigger``, ``iii status``).

It speaks the frames of :mod:`iii_sdk.protocol` directly over aiohttp, without the SDK's
reconnect and replay machinery: connect (retrying until the deadline, because the engine may still
be starting), announce itself with ``engine::workers::register`` (void), send invocations and wait
for their results.
"""

from __future__ import annotations

import asyncio
import os
import platform
from types import TracebackType
from typing import Any, Final

import aiohttp

from iii_engine._version import ENGINE_VERSION
from iii_sdk import protocol as wire
from iii_sdk.errors import ProtocolError, invocation_error

__all__ = ["EngineUnreachable", "InvocationTimeout", "RawClient", "WebSocketFailure"]

_RETRY_FIRST_S: Final = 0.05
_RETRY_MAX_S: Final = 0.5


class EngineUnreachable(ConnectionError):
    """No connection to the engine before the connect deadline; ``reason`` says why."""

    def __init__(self, url: str, reason: str = "no answer") -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class InvocationTimeout(TimeoutError):
    """Connected, but no result arrived before the deadline."""


class WebSocketFailure(ConnectionError):
    """The socket failed or closed while a result was pending."""


class RawClient:
    """Connect to an engine's worker socket and invoke functions, one call at a time.

    The connection registers as ``<name>:<pid>`` (``iii-cli:trigger:1234``).

    Example::

        async with RawClient("ws://127.0.0.1:49134", timeout_s=30) as client:
            result = await client.call("math::add", {"a": 2, "b": 3})
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        name: str = "iii-cli:trigger",
        connect_timeout_s: float | None = None,
    ) -> None:
        self.url = url
        # The engine leases worker names (one live connection per name and namespace), so two
        # concurrent CLI runs under upstream's fixed name would reject each other: add the pid.
        self.name = f"{name}:{os.getpid()}"
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + timeout_s
        # Connecting stops retrying at the earlier of the two deadlines (fail fast when set).
        connect_s = timeout_s if connect_timeout_s is None else min(timeout_s, connect_timeout_s)
        self._connect_deadline = loop.time() + connect_s
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> RawClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _remaining(self) -> float:
        return self._deadline - asyncio.get_running_loop().time()

    async def connect(self) -> None:
        """Open the socket (retrying until the connect deadline) and register as a worker.

        Raises :class:`EngineUnreachable` naming the URL and the last failure.
        """
        self._session = aiohttp.ClientSession()
        delay = _RETRY_FIRST_S
        reason = "no answer"
        loop = asyncio.get_running_loop()
        while True:
            remaining = self._connect_deadline - loop.time()
            if remaining <= 0:
                raise EngineUnreachable(self.url, reason)
            try:
                async with asyncio.timeout(remaining):
                    self._ws = await self._session.ws_connect(self.url, autoping=True)
                break
            except TimeoutError as exc:
                raise EngineUnreachable(self.url, reason) from exc
            except (aiohttp.ClientError, OSError) as exc:
                reason = _describe(exc)
                # The engine may be starting: retry with a short capped backoff.
                await asyncio.sleep(min(delay, max(remaining, 0)))
                delay = min(delay * 2, _RETRY_MAX_S)
        await self._send(
            wire.InvokeFunction(
                function_id="engine::workers::register",
                data=wire.to_raw(self._metadata()),
                action=wire.VoidAction(),
            )
        )

    def _metadata(self) -> dict[str, Any]:
        return {
            "runtime": "python",
            "version": ENGINE_VERSION,
            "name": self.name,
            "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
            "pid": os.getpid(),
        }

    async def _send(self, message: wire.Message) -> None:
        assert self._ws is not None, "connect() first"
        try:
            await self._ws.send_bytes(wire.encode(message))
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise WebSocketFailure(str(exc) or type(exc).__name__) from exc

    async def call(self, function_id: str, data: Any, *, namespace: str | None = None) -> Any:
        """Invoke ``function_id`` and return its decoded result (``None`` when absent).

        Raises :class:`InvocationError` for a remote error, :class:`InvocationTimeout` when the
        deadline passes, :class:`WebSocketFailure` when the socket fails.
        """
        invocation_id = wire.new_id()
        await self._send(
            wire.InvokeFunction(
                function_id=function_id,
                invocation_id=invocation_id,
                data=wire.to_raw(data),
                namespace=namespace,
            )
        )
        try:
            async with asyncio.timeout(max(self._remaining(), 0)):
                result = await self._await_result(invocation_id)
        except TimeoutError as exc:
            raise InvocationTimeout(function_id) from exc
        if result.error is not None:
            raise invocation_error(
                result.error, function_id=function_id, invocation_id=invocation_id
            )
        return wire.from_raw(result.result)

    async def _await_result(self, invocation_id: str) -> wire.InvocationResult:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            try:
                frame = wire.decode(msg.data)
            except ProtocolError:
                continue  # frames this client does not need (telemetry, future types)
            if isinstance(frame, wire.Ping):
                await self._send(wire.Pong())
            elif isinstance(frame, wire.ErrorFrame):  # authentication refused
                raise WebSocketFailure(f"{frame.error.code}: {frame.error.message}")
            elif isinstance(frame, wire.InvocationResult) and frame.invocation_id == invocation_id:
                return frame
        reason = self._ws.exception() or f"connection closed (code {self._ws.close_code})"
        raise WebSocketFailure(str(reason))

    async def close(self) -> None:
        """Close the socket and the HTTP session."""
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()


def _describe(exc: BaseException) -> str:
    """A short reason for a failed connection attempt (``connection refused`` ...)."""
    cause = getattr(exc, "os_error", None) or exc
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"not an iii engine (HTTP {exc.status} on the WebSocket handshake)"
    text = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    return str(text)
