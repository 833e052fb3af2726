"""The protocol state of one worker: its connection, its registrations, the calls it awaits.

The session owns the rules that span reconnects, in one place:

- a registration is recorded, then sent if a socket is ready; while offline it is not queued,
  because every fresh socket starts with the replay of all registrations (:meth:`Session.register`);
- a call made while offline waits in the offline queue and goes out after the replay; a call
  written on a socket that drops fails at once with ``invocation_stopped``, because the engine
  forgot it (:meth:`Session.call`, :meth:`Session._on_close`);
- a fresh socket starts with ``reattach`` (after a drop), the replay, the offline queue, then
  ``engine::workers::register`` (:meth:`Session._on_open`).

It also reacts to every frame the engine sends. :class:`~iii_sdk.worker.Worker` is the public
face over it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from iii_sdk import errors
from iii_sdk.errors import IIIError, InvocationError, RegistrationRejected, invocation_error
from iii_sdk.handlers import AsyncHandler
from iii_sdk.plugin import TriggerType
from iii_sdk.protocol import (
    ErrorFrame,
    InvocationResult,
    InvokeFunction,
    Ping,
    Pong,
    Raw,
    RegisterTrigger,
    RegistrationRejectedFrame,
    TriggerRegistrationResult,
    UnregisterFunction,
    UnregisterTrigger,
    UnregisterTriggerType,
    UnsetType,
    WorkerRegistered,
    decode,
    encode,
)

from ._connection import Connection
from ._execution import Executor
from ._frames import call_frame
from ._invocations import Call, PendingCalls
from ._outbound import ConnectionClosed, Opening
from ._providers import Providers
from ._registrations import (
    FunctionHandle,
    FunctionRegistration,
    Registrations,
    TriggerHandle,
    TriggerRegistration,
    TriggerTypeHandle,
    TriggerTypeRegistration,
)
from ._values import json_value
from .observe import Observers

__all__ = ["Session"]

log = logging.getLogger("iii.sdk")

_PONG = encode(Pong())


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
        )
        self.executor = Executor(
            self.registrations.functions, self.connection.send_answer, self.connection.drained, url
        )
        self.providers = Providers(self.registrations, self._reply)
        # Observers re-send every live observer on ``workerregistered``: like registrations,
        # dropped while offline and queued while the replay runs.
        self.observers = Observers(lambda frame: self.connection.post(frame, offline="replay"))
        self.worker_id: str | None = None
        self.closed = False
        self.fatal: RegistrationRejected | None = None
        self.listeners: list[Callable[[str], None]] = []
        self._reattach_token: str | None = None
        self._registered: asyncio.Future[str] | None = None
        self._dispatch: dict[type[Any], Callable[[Any, int], None]] = {
            InvocationResult: self.pending.resolve,
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

    async def connect(self) -> None:
        """Start connecting; return at the first ``workerregistered`` (see ``Worker.connect``)."""
        if self.closed:
            raise ConnectionClosed("the worker is closed")
        registered = self.start()
        task = self.connection.task
        assert task is not None
        waiters: list[asyncio.Future[Any]] = [registered, task]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if registered.done():
            registered.result()
            return
        cause = self.connection.failed
        raise ConnectionError(f"cannot connect to {self.url}: {cause}") from cause

    async def until_ended(self) -> None:
        """Wait until the connection ends for good: :meth:`close` returns normally, a fatal
        rejection raises it, an ending without ``reconnect`` raises ``ConnectionError``."""
        task = self.connection.task
        if task is not None:
            await asyncio.wait([task])
        if self.fatal is not None:
            raise self.fatal
        if not self.closed:
            raise ConnectionError(f"the connection to {self.url} ended")

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

    @property
    def ready(self) -> bool:
        """True while a socket is open and its registrations have been sent."""
        return self.connection.ready

    # --- registrations ----------------------------------------------------------------------

    def register_function(
        self, function_id: str, handler: AsyncHandler | None, frame: bytes
    ) -> FunctionHandle:
        """Record an exported function (``None``: HTTP-invoked) and send its frame."""
        handle = FunctionHandle(function_id, self.unregister_function)
        self.registrations.functions[function_id] = FunctionRegistration(handler, frame, handle)
        self._send_registration(frame)
        return handle

    def unregister_function(self, function_id: str) -> None:
        """Withdraw an exported function."""
        if self.registrations.functions.pop(function_id, None) is not None:
            self._send_registration(encode(UnregisterFunction(id=function_id)))

    def register_trigger(self, handle: TriggerHandle, frame: bytes) -> TriggerHandle:
        """Record a binding and send its frame."""
        self.registrations.triggers[handle.id] = TriggerRegistration(frame, handle)
        self._send_registration(frame)
        return handle

    def unregister_trigger(self, trigger_id: str) -> None:
        """Remove a binding this worker registered."""
        entry = self.registrations.triggers.pop(trigger_id, None)
        if entry is not None:
            frame = UnregisterTrigger(id=trigger_id, trigger_type=entry.handle.trigger_type)
            self._send_registration(encode(frame))

    def register_trigger_type(self, provider: TriggerType, frame: bytes) -> TriggerTypeHandle:
        """Provide a trigger type (replacing a local provider of the same id)."""
        previous = self.registrations.trigger_types.pop(provider.id, None)
        if previous is not None:
            self.providers.drop_entry(previous)
        handle = TriggerTypeHandle(provider, self.unregister_trigger_type)
        self.registrations.trigger_types[provider.id] = TriggerTypeRegistration(
            provider, frame, handle
        )
        self._send_registration(frame)
        return handle

    def unregister_trigger_type(self, type_id: str) -> None:
        """Stop providing a trigger type; its bindings are dropped locally."""
        entry = self.registrations.trigger_types.pop(type_id, None)
        if entry is None:
            return
        self.providers.drop_entry(entry)
        self._send_registration(encode(UnregisterTriggerType(id=type_id)))

    def _send_registration(self, frame: bytes) -> None:
        self.connection.post(frame, offline="replay")

    # --- calls ------------------------------------------------------------------------------

    def check_callable(self, function_id: str) -> None:
        """Raise when no call can be made (closed, or rejected for good); else start connecting."""
        if self.closed:
            raise InvocationError(errors.SHUTDOWN, "the worker is closed", function_id=function_id)
        if self.fatal is not None:
            fatal = self.fatal
            raise InvocationError(fatal.code, str(fatal), function_id=function_id)
        if self._registered is None:  # not started yet (start() is idempotent, but a call)
            self.start()

    async def call(self, message: InvokeFunction, timeout_s: float) -> Raw | UnsetType:
        """Send an invocation and wait for its raw result (:meth:`check_callable` first)."""
        call = self.start_call(message, timeout_s)
        connection = self.connection
        try:
            if connection.congested:
                await connection.drained()
            return await call.future
        except asyncio.CancelledError:
            self.pending.discard(call.invocation_id)
            raise

    def start_call(self, message: InvokeFunction, timeout_s: float) -> Call:
        """Send an invocation without waiting: its :class:`Call` (whose future the caller
        awaits after :meth:`Connection.drained` when congested; discard it if cancelled)."""
        call = self.pending.add(message.function_id, timeout_s)
        message.invocation_id = call.invocation_id
        self.connection.send_call(encode(message), call)
        return call

    def start_plain_call(
        self, head: bytes, function_id: str, payload: Any, timeout_s: float
    ) -> Call:
        """:meth:`start_call` for a call that is only a function id and a payload: its frame
        completed from ``head`` (:func:`~iii_sdk._requests.plain_head`) and the payload's JSON.

        Checks :meth:`check_callable` itself (spelled out for the usual answer)."""
        if self.closed or self.fatal is not None or self._registered is None:
            self.check_callable(function_id)
        data = json_value(payload)
        call = self.pending.add(function_id, timeout_s)
        self.connection.send_call(call_frame(head, call.invocation_id, data), call)
        return call

    async def call_void(self, message: InvokeFunction) -> None:
        """Send an invocation nobody waits for (queued while offline)."""
        await self.connection.send(encode(message), offline="queue")

    def send_void(self, message: InvokeFunction) -> None:
        """:meth:`call_void` without waiting for a congested socket to drain."""
        self.connection.send_nowait(encode(message), offline="queue")

    def post_void(self, message: InvokeFunction) -> None:
        """:meth:`call_void` from synchronous code (frames keep call order)."""
        self.connection.post(encode(message), offline="queue")

    async def _reply(self, generation: int, frame: bytes) -> None:
        # A result goes back on the socket its call came in on, or nowhere.
        await self.connection.send(frame, offline="drop", generation=generation)

    # --- connection callbacks ---------------------------------------------------------------

    def _on_open(self, generation: int) -> Opening:
        previous = None if self.worker_id is None else (self.worker_id, self._reattach_token)
        return self.registrations.opening(previous, self._metadata())

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

    # --- inbound frames ---------------------------------------------------------------------

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
            message.id, invocation_error(error, function_id=message.function_id)
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
        self.connection.post(_PONG, offline="drop")

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
