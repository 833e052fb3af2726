"""``Worker``: connect to an iii engine, export functions, bind triggers, invoke functions.

Async-first::

    async def add(payload):
        return {"c": payload["a"] + payload["b"]}

    async with Worker("ws://127.0.0.1:49134", name="math") as worker:
        worker.register_function("math::add", add)
        print(await worker.trigger("math::add", {"a": 2, "b": 3}))   # {'c': 5}

or blocking, for scripts: ``worker.register_function(...)`` then ``worker.run_forever()``.

The worker reconnects on its own (exponential backoff, 0.1 s doubling to 5 s, jittered). On
every connection it sends, in the upstream Python SDK's order: ``reattach`` (after a drop),
every trigger type, function and trigger it has registered, the invocations queued while
offline, then ``engine::workers::register``. Calls already written on a socket that drops fail
at once with ``invocation_stopped`` (the engine forgot them); calls made while offline wait in
the offline queue until they are sent or time out.

Registration methods are synchronous and may be called before :meth:`Worker.connect`; call
them from the worker's event loop thread (see :mod:`iii_sdk.sync` for other threads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from iii_sdk.handlers import Handler, adapt
from iii_sdk.plugin import TriggerType
from iii_sdk.protocol import (
    UNSET,
    HttpInvocationRef,
    RegisterFunction,
    RegisterTrigger,
    RegisterTriggerType,
    VoidAction,
    encode,
    from_raw,
    new_id,
    to_raw,
)
from iii_sdk.typed import input_type

from ._invocations import Call
from ._metadata import (
    resolve_headers,
    resolve_name,
    resolve_namespace,
    resolve_url,
    worker_metadata,
)
from ._outbound import ConnectionClosed
from ._registrations import FunctionHandle, TriggerHandle, TriggerTypeHandle
from ._requests import (
    TriggerRequest,
    binding_namespace,
    invocation,
    plain_head,
    schema_raw,
)
from ._serving import run_forever
from ._session import Session
from ._tracing import call_context, tracing
from .observe import Observer

__all__ = [
    "ConnectionClosed",
    "FunctionHandle",
    "TriggerHandle",
    "TriggerTypeHandle",
    "Worker",
]


class Worker:
    """A connection to an iii engine that exports functions and invokes others.

    ``url`` defaults to ``III_URL``, then ``ws://127.0.0.1:49134``; ``name`` to
    ``III_WORKER_NAME``, then ``<hostname>:<pid>``; ``namespace`` to ``III_NAMESPACE`` (unset:
    the engine's ``default``). ``invocation_timeout_ms`` is the default for :meth:`trigger`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        name: str | None = None,
        namespace: str | None = None,
        description: str | None = None,
        invocation_timeout_ms: float = 30000,
        headers: Mapping[str, str] | None = None,
        reconnect: bool = True,
    ) -> None:
        self.url = resolve_url(url)
        self.name = resolve_name(name)
        self.namespace = resolve_namespace(namespace)
        self.description = description
        self.invocation_timeout_ms = invocation_timeout_ms
        self._session = Session(
            self.url,
            name=self.name,
            headers=resolve_headers(headers),
            reconnect=reconnect,
            metadata=lambda: worker_metadata(self.name, self.namespace, self.description),
        )

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def worker_id(self) -> str | None:
        """The id the engine gave the current (or last) connection; ``None`` before that."""
        return self._session.worker_id

    @property
    def connected(self) -> bool:
        """True while a socket is open and its registrations have been sent."""
        return self._session.ready

    def add_connection_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(state)`` on each change: ``"connected"`` (the engine registered
        this connection), ``"disconnected"`` (the socket dropped), ``"closed"``.

        Returns a function that removes the listener.
        """
        listeners = self._session.listeners
        listeners.append(listener)

        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return remove

    async def connect(self) -> None:
        """Open the connection; return once the engine has answered ``workerregistered``.

        With ``reconnect=True`` a refused connection is retried with backoff for as long as it
        takes (bound it with ``asyncio.timeout``); with ``reconnect=False`` it raises
        ``ConnectionError``.
        """
        await self._session.connect()

    async def close(self) -> None:
        """Close the connection, fail pending calls with ``SHUTDOWN``, stop handlers."""
        await self._session.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        """Connect, then serve until :meth:`close` is called.

        Raises :class:`~iii_sdk.errors.RegistrationRejected` if the engine refuses this
        worker's name for good (``WORKER_NAMESPACE_CONFLICT``), and ``ConnectionError`` if the
        connection ends without ``reconnect``.
        """
        await self.connect()
        await self._session.until_ended()

    def run_forever(self) -> None:
        """Connect and serve until SIGINT/SIGTERM (blocking; see :mod:`iii_sdk.sync`)."""
        run_forever(self)

    # --- registrations ----------------------------------------------------------------------

    def register_function(
        self,
        function_id: str,
        handler: Handler | HttpInvocationRef,
        *,
        description: str | None = None,
        request_format: Any = None,
        response_format: Any = None,
        metadata: Any = None,
    ) -> FunctionHandle:
        """Export ``handler`` as ``function_id`` (replacing an earlier local registration).

        ``handler`` may be sync (run in a thread) or async, taking ``(payload)`` or
        ``(payload, metadata)``; or an :class:`~iii_sdk.protocol.HttpInvocationRef` for a
        function the engine calls over HTTP (needs the engine's ``iii-http-functions``).

        A handler raises :class:`InvocationError` to answer a specific error code; any other
        exception answers ``invocation_failed`` with its traceback. Formats are JSON Schema
        dicts or msgspec types. A payload parameter annotated with a msgspec Struct, dataclass
        or TypedDict is decoded into that type (bad input answers ``invalid_payload: b:
        required``), and its schema is the request format unless one is given.
        """
        http = handler if isinstance(handler, HttpInvocationRef) else None
        if request_format is None and not isinstance(handler, HttpInvocationRef):
            request_format = input_type(handler)  # a typed handler declares its schema
        frame = encode(
            RegisterFunction(
                id=function_id,
                description=description,
                request_format=schema_raw(request_format),
                response_format=schema_raw(response_format),
                metadata=UNSET if metadata is None else to_raw(metadata),
                invocation=http,
            )
        )
        adapted = None if isinstance(handler, HttpInvocationRef) else adapt(handler)
        return self._session.register_function(function_id, adapted, frame)

    def unregister_function(self, function_id: str) -> None:
        """Withdraw a function registered by this worker."""
        self._session.unregister_function(function_id)

    def register_trigger(
        self,
        trigger_type: str | Mapping[str, Any],
        function_id: str | None = None,
        config: Any = None,
        *,
        metadata: Any = None,
        trigger_id: str | None = None,
        namespace: str | None = None,
        trigger_namespace: str | None = None,
    ) -> TriggerHandle:
        """Bind ``function_id`` to a trigger of ``trigger_type`` configured by ``config``.

        Also accepts upstream's dict form ``{"type": ..., "function_id": ..., "config": ...}``.
        The binding's ``metadata`` reaches the handler as its ``metadata`` argument.
        """
        if isinstance(trigger_type, Mapping):
            spec = trigger_type
            trigger_type = str(spec.get("type") or spec["trigger_type"])
            function_id = spec["function_id"]
            config = spec.get("config", config)
            metadata = spec.get("metadata", metadata)
            trigger_id = spec.get("id", trigger_id)
            namespace = spec.get("namespace", namespace)
            trigger_namespace = spec.get("trigger_namespace", trigger_namespace)
        if function_id is None:
            raise ValueError("register_trigger needs a function_id")
        trigger_id = trigger_id or new_id()
        frame = encode(
            RegisterTrigger(
                id=trigger_id,
                trigger_type=trigger_type,
                function_id=function_id,
                config=to_raw(config),
                metadata=UNSET if metadata is None else to_raw(metadata),
                namespace=binding_namespace(namespace, self.namespace),
                trigger_namespace=trigger_namespace,
            )
        )
        handle = TriggerHandle(
            trigger_id,
            trigger_type=trigger_type,
            function_id=function_id,
            config=config,
            metadata=metadata,
            unregister=self._session.unregister_trigger,
        )
        return self._session.register_trigger(handle, frame)

    def register_trigger_type(self, trigger_type: TriggerType) -> TriggerTypeHandle:
        """Provide ``trigger_type``: the engine delivers its bindings to it.

        ``register_trigger`` raising rejects a binding (the registrant gets
        ``trigger_registration_failed`` with the exception text).
        """
        frame = encode(
            RegisterTriggerType(
                id=trigger_type.id,
                description=trigger_type.description,
                trigger_request_format=schema_raw(trigger_type.trigger_request_format),
                call_request_format=schema_raw(trigger_type.call_request_format),
            )
        )
        return self._session.register_trigger_type(trigger_type, frame)

    def unregister_trigger_type(self, trigger_type_id: str) -> None:
        """Stop providing a trigger type; its bindings are dropped locally."""
        self._session.unregister_trigger_type(trigger_type_id)

    # --- invoking ---------------------------------------------------------------------------

    async def trigger(
        self,
        request: str | Mapping[str, Any],
        payload: Any = None,
        *,
        action: Any = None,
        timeout_ms: float | None = None,
        metadata: Any = None,
        namespace: str | None = None,
    ) -> Any:
        """Invoke a function and return its result.

        ``request`` is a function id, or upstream's dict ``{"function_id", "payload",
        "action", "timeout_ms"}``. ``action`` ``{"type": "void"}`` returns ``None`` at once;
        ``{"type": "enqueue", "queue": Q}`` returns the queue receipt. Failures raise
        :class:`InvocationError` with the wire code; ``TIMEOUT`` after ``timeout_ms``,
        ``SHUTDOWN`` when the worker closes.
        """
        call = TriggerRequest.of(request, payload, action, timeout_ms, metadata, namespace)
        if tracing():
            with call_context(call.function_id):  # an OpenTelemetry client span when configured
                return await self._trigger(call)
        # Untraced (the usual case): :meth:`_trigger` inlined, so a call's result reaches the
        # caller through one coroutine instead of three.
        session = self._session
        head = plain_head(call, self.namespace)
        if head is not None:  # the usual call (:meth:`_start`'s first case, spelled out)
            timeout_ms = self.invocation_timeout_ms if call.timeout_ms is None else call.timeout_ms
            pending: Call | None = session.start_plain_call(
                head, call.function_id, call.payload, timeout_ms / 1000
            )
        else:
            pending = self._start(call, traced=False)
        connection = session.connection
        try:
            if connection.congested:
                await connection.drained()
            if pending is None:
                return None
            raw = await pending.future
        except asyncio.CancelledError:
            if pending is not None:
                session.pending.discard(pending.invocation_id)
            raise
        return from_raw(raw)

    async def _trigger(self, call: TriggerRequest) -> Any:
        session = self._session
        pending = self._start(call, traced=True)
        connection = session.connection
        try:
            if connection.congested:
                await connection.drained()
            if pending is None:
                return None
            raw = await pending.future
        except asyncio.CancelledError:
            if pending is not None:
                session.pending.discard(pending.invocation_id)
            raise
        return from_raw(raw)

    def _start(self, call: TriggerRequest, *, traced: bool) -> Call | None:
        """Send the invocation for ``call``; the pending call, or ``None`` for a void one."""
        session = self._session
        timeout_ms = self.invocation_timeout_ms if call.timeout_ms is None else call.timeout_ms
        if not traced:
            head = plain_head(call, self.namespace)
            if head is not None:  # the usual call: its frame made from bytes
                return session.start_plain_call(
                    head, call.function_id, call.payload, timeout_ms / 1000
                )
        session.check_callable(call.function_id)
        message = invocation(call, self.namespace, traced=traced)
        if isinstance(message.action, VoidAction):
            session.send_void(message)
            return None
        return session.start_call(message, timeout_ms / 1000)

    def observe(self, source: str, target: str, **options: Any) -> Observer:
        """Invoke ``target`` on every matching call of ``source`` (see :mod:`iii_sdk.observe`).

        Options: ``filters``, ``capture``, ``on``, ``deliver``, ``args``, ``metadata``,
        ``max_fires``, ``expires_in_ms``, ``max_in_flight``, ``observer_id``,
        ``source_namespace``, ``target_namespace``. Returns the :class:`Observer` handle at
        once; ``await observer.ready()`` waits until it is active.
        """
        return self._session.observers.create(source, target, **options)

    def trigger_void(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str | None = None,
    ) -> None:
        """Fire and forget, without awaiting: the frame is queued in call order.

        For trigger type providers firing bindings from synchronous code.
        """
        call = TriggerRequest(function_id, payload, VoidAction(), None, metadata, namespace)
        self._session.check_callable(function_id)
        self._session.post_void(invocation(call, self.namespace))
