"""The protocol state of one worker: its connection, its registrations, the calls it awaits.

The session reacts to the connection (a fresh socket gets the replay, a lost one fails the
calls written on it) and to every frame the engine sends. :class:`~iii_sdk.worker.Worker` is
the public face over it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from iii_sdk import errors
from iii_sdk.errors import IIIError, InvocationError, RegistrationRejected
from iii_sdk.protocol import (
    ErrorFrame,
    InvocationResult,
    InvokeFunction,
    Ping,
    Pong,
    Reattach,
    RegisterTrigger,
    TriggerRegistrationResult,
    UnregisterTrigger,
    VoidAction,
    WorkerRegistered,
    decode,
    encode,
    to_raw,
)
from iii_sdk.protocol import RegistrationRejected as RegistrationRejectedFrame

from ._connection import Connection, ConnectionClosed
from ._execution import Executor
from ._invocations import PendingCalls
from ._providers import Providers
from ._registrations import Registrations
from .observe import Observers

__all__ = ["Session"]

log = logging.getLogger("iii.sdk")

WORKERS_REGISTER = "engine::workers::register"


class Session:
    """Everything a worker keeps across reconnects, and its reactions to the engine."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        headers: Mapping[str, str] | None,
        reconnect: bool,
        metadata: Callable[[], dict[str, Any]],
    ) -> None:
        self.url = url
        self.name = name
        self._metadata = metadata
        self.registrations = Registrations()
        self.pending = PendingCalls()
        self.connection = Connection(
            url,
            headers=headers,
            reconnect=reconnect,
            on_open=self._on_open,
            on_frame=self._on_frame,
            on_close=self._on_close,
            on_flushed=self._on_flushed,
            on_dropped=self._on_dropped,
        )
        send_on = self.connection.send_on
        self.executor = Executor(self.registrations.functions, send_on, url)
        self.providers = Providers(self.registrations, send_on)
        self.observers = Observers(self.connection.send)
        self.worker_id: str | None = None
        self.closed = False
        self.fatal: RegistrationRejected | None = None
        self.listeners: list[Callable[[str], None]] = []
        self._reattach_token: str | None = None
        self._registered: asyncio.Future[str] | None = None
        self._dispatch: dict[type[Any], Callable[[Any, int], None]] = {
            InvocationResult: self._on_result,
            InvokeFunction: self.executor.handle,
            WorkerRegistered: self._on_worker_registered,
            RegisterTrigger: self.providers.deliver,
            UnregisterTrigger: self._on_unregister_trigger,
            TriggerRegistrationResult: self._on_trigger_result,
            RegistrationRejectedFrame: self._on_rejected,
            Ping: self._on_ping,
            ErrorFrame: self._on_error_frame,
        }

    def start(self) -> asyncio.Future[str]:
        """Start connecting (once); the future resolves at the first ``workerregistered``."""
        if self._registered is None:
            self._registered = asyncio.get_running_loop().create_future()
        self.connection.start()
        return self._registered

    async def close(self) -> None:
        """Fail pending calls with ``SHUTDOWN``, stop handlers and providers, close."""
        if self.closed:
            return
        self.closed = True
        self.pending.fail_all(errors.SHUTDOWN, "the worker is shutting down")
        self._fail_registered(ConnectionClosed("the worker was closed"))
        await self.executor.close()
        await self.connection.close()
        self.providers.drop()
        await self.providers.close()
        await self.pending.stop()
        self.notify("closed")

    def notify(self, state: str) -> None:
        """Tell the connection listeners about ``state``."""
        for listener in list(self.listeners):
            try:
                listener(state)
            except Exception:
                log.exception("connection listener failed")

    # --- connection callbacks ---------------------------------------------------------------

    async def _on_open(self, generation: int) -> None:
        connection = self.connection
        if self.worker_id is not None:
            reattach = Reattach(
                previous_worker_id=self.worker_id, reattach_token=self._reattach_token
            )
            connection.send_direct(encode(reattach))
        for frame in self.registrations.replay_frames():
            connection.send_direct(frame)
        await connection.flush()
        connection.flush_offline()
        register = InvokeFunction(
            function_id=WORKERS_REGISTER,
            data=to_raw(self._metadata()),
            action=VoidAction(),
            namespace="default",
        )
        connection.send_direct(encode(register))

    def _on_frame(self, data: bytes, generation: int) -> None:
        try:
            message = decode(data)
        except IIIError as exc:
            if not self.observers.on_frame(data):
                log.warning("ignoring an undecodable frame from the engine: %s", exc)
            return
        handler = self._dispatch.get(type(message))
        if handler is not None:
            handler(message, generation)

    def _on_close(self, generation: int) -> None:
        self.observers.on_disconnected()
        self.pending.fail_generation(generation)
        self.providers.drop()
        if not self.closed:
            log.warning("worker %s lost its connection to %s", self.name, self.url)
            self.notify("disconnected")

    def _on_flushed(self, invocation_id: str, generation: int) -> bool:
        if invocation_id not in self.pending:
            return False
        self.pending.mark_sent(invocation_id, generation)
        return True

    def _on_dropped(self, invocation_id: str) -> None:
        self.pending.fail(
            invocation_id, errors.INVOCATION_STOPPED, "dropped from the full offline queue"
        )

    # --- inbound frames ---------------------------------------------------------------------

    def _on_result(self, message: InvocationResult, generation: int) -> None:
        self.pending.resolve(message)

    def _on_worker_registered(self, message: WorkerRegistered, generation: int) -> None:
        self.worker_id = message.worker_id
        self._reattach_token = message.reattach_token
        self.connection.backoff_reset()
        log.info("worker %s connected to %s as %s", self.name, self.url, message.worker_id)
        if self._registered is not None and not self._registered.done():
            self._registered.set_result(message.worker_id)
        self.observers.on_registered()
        self.notify("connected")

    def _on_unregister_trigger(self, message: UnregisterTrigger, generation: int) -> None:
        self.providers.remove(message)

    def _on_trigger_result(self, message: TriggerRegistrationResult, generation: int) -> None:
        if message.error is None:
            return
        error = message.error
        log.error(
            "trigger %s (%s -> %s) was rejected: %s: %s",
            message.id,
            message.trigger_type,
            message.function_id,
            error.code,
            error.message,
        )
        self.registrations.trigger_rejected(
            message.id,
            InvocationError(error.code, error.message, function_id=message.function_id),
        )

    def _on_rejected(self, message: RegistrationRejectedFrame, generation: int) -> None:
        rejection = RegistrationRejected(
            message.code,
            message.namespace,
            owner_worker_id=message.owner_worker_id,
            worker_name=message.worker_name,
            function_id=message.function_id,
        )
        log.error("registration rejected: %s", rejection)
        if message.code != errors.WORKER_NAMESPACE_CONFLICT:
            if message.function_id is not None:
                self.registrations.function_rejected(message.function_id, rejection)
            return
        # Fatal: another live worker holds this name; the engine closes the socket.
        self.fatal = rejection
        self.connection.stop_reconnecting()
        self.pending.fail_all(message.code, str(rejection))
        self._fail_registered(rejection)

    def _on_ping(self, message: Ping, generation: int) -> None:
        if self.connection.ready:
            self.connection.send(encode(Pong()))

    def _on_error_frame(self, message: ErrorFrame, generation: int) -> None:
        error = message.error
        log.error("the engine refused the connection: %s: %s", error.code, error.message)
        if self._registered is not None and not self._registered.done():
            self.connection.stop_reconnecting()
            self._fail_registered(IIIError(f"{error.code}: {error.message}"))

    def _fail_registered(self, exc: BaseException) -> None:
        registered = self._registered
        if registered is not None and not registered.done():
            registered.set_exception(exc)
            registered.exception()  # marks it retrieved: connect() may never be awaited
