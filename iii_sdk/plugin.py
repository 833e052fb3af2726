"""The plugin-author API: trigger types, built-in workers, and the narrow context they get.

A *built-in worker* (iii-http, iii-state, or a third party's ``iii-webhook``) is a
:class:`BuiltinWorker` described by a :class:`WorkerSpec` that a plugin adds to the registry in
its ``iii_register_workers`` hook (see :mod:`iii_sdk.hookspecs`). The engine selects it by its
``workers:`` entry, decodes the entry's ``config:`` block into ``spec.config_type`` and calls
``start(ctx)`` with a :class:`WorkerContext`. Through that context the worker registers functions
and :class:`TriggerType` providers and invokes functions; it never sees engine internals, so the
same worker can run inside the engine or in a separate process over the wire.

Example, a complete third-party trigger type::

    class Every(msgspec.Struct):
        interval_ms: int

    class TickerType:
        id = "ticker"
        description = "fires the bound function every interval_ms"

        def __init__(self, ctx: TriggerContext) -> None:
            self.ctx, self.tasks = ctx, {}

        async def register_trigger(self, trigger: Trigger) -> None:
            cfg = decode_config(trigger.config, Every)
            self.tasks[trigger.id] = asyncio.create_task(self._run(trigger, cfg))

        async def unregister_trigger(self, trigger: Trigger) -> None:
            self.tasks.pop(trigger.id).cancel()
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec

from iii_sdk.errors import DESERIALIZATION_ERROR, InvocationError
from iii_sdk.external import ExternalFunctionHost
from iii_sdk.handlers import Handler, immediate, is_immediate
from iii_sdk.observer import Observer
from iii_sdk.plugin_channels import Channel, ChannelReadSide, ChannelWriteSide

__all__ = [
    "BuiltinWorker",
    "Channel",
    "ChannelReadSide",
    "ChannelWriteSide",
    "Trigger",
    "TriggerContext",
    "TriggerType",
    "WorkerContext",
    "WorkerRegistry",
    "WorkerSpec",
    "check_condition",
    "decode_config",
    "decode_input",
    "decode_json_input",
    "eager",
    "immediate",
    "is_eager",
    "is_immediate",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_EAGER = "__iii_eager__"


def eager(handler: F) -> F:
    """Mark an in-process handler that usually finishes without waiting.

    The engine starts such a handler at once, on the connection's own stack, and gives it a task
    only if it suspends, which saves a task per call. Until its first ``await`` that really waits,
    the handler must not rely on :func:`asyncio.current_task` (no ``asyncio.timeout`` or
    ``TaskGroup`` there): the current task is still the connection's. A handler that never
    waits at all can go further with :func:`immediate`.
    """
    setattr(handler, _EAGER, True)
    return handler


def is_eager(handler: Any) -> bool:
    """True when :func:`eager` marked ``handler`` (bound methods included)."""
    return getattr(handler, _EAGER, False) is True


class Trigger(msgspec.Struct, kw_only=True, frozen=True):
    """A binding delivered to its trigger type's provider.

    ``namespace`` is where ``function_id`` resolves; fire the binding by invoking
    ``function_id`` there with ``metadata`` as the invocation metadata.
    """

    id: str
    trigger_type: str
    function_id: str
    config: Any = None
    metadata: Any = None
    namespace: str = "default"


@runtime_checkable
class TriggerType(Protocol):
    """A trigger type provider (``http``, ``cron``, ``state``, a third party's ``webhook`` …).

    ``register_trigger`` raises to reject a binding; the exception's text reaches the registrant
    as ``trigger_registration_failed``. The three ``*_format`` members are optional JSON Schemas
    shown by ``engine::triggers::info``: subclass this protocol (``class Mine(TriggerType):``)
    to inherit their ``None`` defaults and set only those you have.
    """

    id: str
    description: str
    trigger_request_format: Any = None
    """JSON Schema of a binding's ``config`` (``configuration_schema``)."""
    call_request_format: Any = None
    """JSON Schema of the payload the bound function is invoked with (``request_schema``)."""
    call_response_format: Any = None
    """JSON Schema of what the bound function should return (``response_schema``)."""

    async def register_trigger(self, trigger: Trigger) -> None:
        """Start serving ``trigger``; raise to reject it."""
        ...

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Stop serving ``trigger``."""
        ...


class TriggerContext(Protocol):
    """What a trigger type may do: invoke functions, log, trace.

    ``observer`` is the engine's :class:`~iii_sdk.observer.Observer` while one runs and
    tracing is on, else ``None`` (see :mod:`iii_sdk.observer`).
    """

    logger: logging.Logger

    @property
    def observer(self) -> Observer | None:
        """The running observer, or ``None`` (the default: a context that cannot trace)."""
        return None

    async def invoke(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = "default",
        timeout_ms: float | None = None,
    ) -> Any:
        """Invoke a function and return its result; raise :class:`InvocationError` on failure."""
        ...

    def invoke_void(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = "default",
    ) -> None:
        """Invoke without waiting for, or caring about, the result."""
        ...


class WorkerContext(TriggerContext, Protocol):
    """What a built-in worker gets in ``start``: registration plus :class:`TriggerContext`."""

    name: str
    """The worker's instance name (its ``workers:`` entry name)."""

    base_dir: Path
    """Where relative paths in the worker's config resolve: the config file's directory."""

    def register_function(
        self,
        function_id: str,
        handler: Handler,
        *,
        description: str | None = None,
        request_format: Any = None,
        response_format: Any = None,
        metadata: Any = None,
    ) -> None:
        """Export a function (handlers as in :func:`iii_sdk.handlers.adapt`)."""
        ...

    def unregister_function(self, function_id: str) -> None:
        """Withdraw a function this worker registered."""
        ...

    def register_trigger_type(self, trigger_type: TriggerType) -> None:
        """Become the provider of ``trigger_type.id``; existing bindings are replayed to it."""
        ...

    def unregister_trigger_type(self, trigger_type_id: str) -> None:
        """Stop providing a trigger type; its bindings are parked until a provider returns."""
        ...

    async def create_channel(self, buffer_size: int = 64) -> Channel:
        """Create a data channel (``engine::channels::create``)."""
        ...

    def has_function(self, function_id: str) -> bool | None:
        """Whether ``function_id`` is registered right now, or None when this context cannot
        tell without a round trip (a worker out of process): then invoke and handle
        ``function_not_found``."""
        ...


class BuiltinWorker(Protocol):
    """A worker started by the engine from a ``workers:`` entry.

    Subclass this protocol (``class MyWorker(BuiltinWorker):``) to inherit the default of the
    optional :meth:`urls`, :meth:`external_functions` and :attr:`observer`.
    """

    observer: Observer | None = None
    """Optional: an :class:`~iii_sdk.observer.Observer` exposed once ``start`` returned. The
    engine then reports spans, telemetry frames and worker counts to it until the worker stops
    (this is how ``iii-observability`` plugs in). Default: ``None``."""

    async def start(self, ctx: WorkerContext) -> None:
        """Register functions and trigger types, open sockets; return when ready."""
        ...

    async def stop(self) -> None:
        """Release everything ``start`` acquired. Registrations are removed by the engine."""
        ...

    def urls(self) -> dict[str, str]:
        """What the worker serves, by label (``{"http": "http://127.0.0.1:3111"}``), for the
        engine's start-up banner; valid once started. Default: nothing."""
        return {}

    def external_functions(self) -> ExternalFunctionHost | None:
        """The host of functions registered with an ``invocation`` block, when this worker is
        one (``iii-http-functions``). Default: None."""
        return None


@dataclass(frozen=True)
class WorkerSpec:
    """How to build a built-in worker from its ``workers:`` entry.

    ``factory`` receives the entry's ``config:`` decoded into ``config_type`` (a msgspec Struct
    whose defaults apply when the block is absent). ``default`` workers run when the engine starts
    without a config file.
    """

    name: str
    factory: Callable[[Any], BuiltinWorker]
    config_type: type[Any] | None = None
    aliases: tuple[str, ...] = ()
    default: bool = False
    description: str = ""


class WorkerRegistry(Protocol):
    """Passed to ``iii_register_workers``; call :meth:`add` once per worker."""

    def add(self, spec: WorkerSpec) -> None:
        """Make a worker available by ``spec.name`` (and its aliases)."""
        ...


def decode_input(payload: Any, type_: type[T], function_id: str) -> T:
    """Convert a function's payload into ``type_`` or raise ``deserialization_error``.

    Unknown keys (such as the injected ``_caller_worker_id``) are ignored.
    """
    try:
        return msgspec.convert(payload, type_)
    except msgspec.ValidationError as exc:
        raise InvocationError(
            DESERIALIZATION_ERROR, f"Failed to deserialize input for {function_id}: {exc}"
        ) from exc


_json_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode_json_input(payload: msgspec.Raw | bytes, type_: type[T], function_id: str) -> T:
    """:func:`decode_input` for a payload still in JSON (an :func:`immediate` handler's).

    Decodes straight into ``type_`` (no dict in between); the error is the same
    ``deserialization_error`` with the same text.
    """
    decoder = _json_decoders.get(type_)
    if decoder is None:
        decoder = _json_decoders[type_] = msgspec.json.Decoder(type_)
    try:
        result: T = decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise InvocationError(
            DESERIALIZATION_ERROR, f"Failed to deserialize input for {function_id}: {exc}"
        ) from exc
    return result


def decode_config(config: Any, type_: type[T]) -> T:
    """Convert a trigger's config into ``type_``; raise ``ValueError`` naming the problem."""
    try:
        return msgspec.convert({} if config is None else config, type_)
    except msgspec.ValidationError as exc:
        raise ValueError(f"Failed to parse trigger config: {exc}") from exc


async def check_condition(
    ctx: TriggerContext, condition_function_id: str | None, payload: Any, namespace: str
) -> bool:
    """Run a binding's ``condition_function_id``; only a literal ``false`` result skips.

    Raises :class:`InvocationError` when the condition itself fails (the caller decides).
    """
    if not condition_function_id:
        return True
    result = await ctx.invoke(condition_function_id, payload, namespace=namespace)
    return result is not False
