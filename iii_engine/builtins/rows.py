"""The rows returned by the ``engine::*`` functions, as msgspec Structs.

The shapes are described in docs/protocol.md section 5.

Optional keys are ``UNSET`` (left out of the output); keys that are always present, even when
null, have no default. Handlers turn rows into plain values with ``msgspec.to_builtins``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, UnsetType

from iii_engine.core.registry import FunctionEntry
from iii_sdk.protocol import from_raw

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionRegistry
    from iii_engine.core.triggers import Binding, TriggerRegistry, TriggerTypeEntry
    from iii_engine.core.workers import WorkerTable

__all__ = [
    "FunctionDetail",
    "FunctionSummary",
    "RegisteredTriggerDetail",
    "RegisteredTriggerSummary",
    "TriggerTypeDetail",
    "TriggerTypeSummary",
    "WorkerSummary",
    "builtin_worker_summary",
    "function_detail",
    "function_summary",
    "function_worker_name",
    "registered_trigger_detail",
    "registered_trigger_summary",
    "trigger_type_detail",
    "trigger_type_summary",
    "worker_summary",
]

_BUILTIN_TYPE_WORKERS = {
    "http": "iii-http",
    "cron": "iii-cron",
    "subscribe": "iii-pubsub",
    "state": "iii-state",
    "durable:subscriber": "queue",
    "queue": "queue",
    "log": "iii-observability",
    "trace": "iii-observability",
    "configuration": "configuration",
}


def _first_segment(identifier: str) -> str:
    return identifier.split("::", 1)[0]


def function_worker_name(entry: FunctionEntry) -> str:
    """The name of whoever registered a function, else the id's first ``::`` segment."""
    if entry.worker_name is not None:
        return entry.worker_name
    if entry.owner is not None and entry.owner.name is not None:
        return entry.owner.name
    return _first_segment(entry.function_id)


class FunctionSummary(msgspec.Struct, omit_defaults=True):
    """``FunctionSummary``."""

    function_id: str
    namespace: str
    worker_name: str
    description: str | UnsetType = UNSET
    metadata: Any = UNSET


class TriggerRef(msgspec.Struct):
    """A binding targeting a function, inside ``FunctionDetail``."""

    id: str
    trigger_type: str
    config: Any


class FunctionDetail(msgspec.Struct, omit_defaults=True, kw_only=True):
    """``FunctionDetail``: the summary plus schemas and the bindings that target it."""

    function_id: str
    namespace: str
    worker_name: str
    description: str | UnsetType = UNSET
    request_schema: Any = UNSET
    response_schema: Any = UNSET
    registered_triggers: list[TriggerRef]
    metadata: Any = UNSET


class TriggerTypeSummary(msgspec.Struct):
    """``TriggerTypeSummary``."""

    id: str
    namespace: str
    worker_name: str
    description: str


class TriggerTypeDetail(msgspec.Struct, omit_defaults=True, kw_only=True):
    """``TriggerTypeDetail``."""

    id: str
    namespace: str
    worker_name: str
    description: str
    configuration_schema: Any = UNSET
    request_schema: Any = UNSET
    response_schema: Any = UNSET
    instance_count: int


class RegisteredTriggerSummary(msgspec.Struct):
    """``RegisteredTriggerSummary``."""

    id: str
    trigger_type: str
    function_id: str
    worker_name: str
    config: Any
    config_summary: str


class RegisteredTriggerDetail(msgspec.Struct, omit_defaults=True, kw_only=True):
    """``engine::registered-triggers::info``: the binding, its trigger type and its function."""

    id: str
    trigger_type: str
    function_id: str
    worker_name: str
    config: Any
    metadata: Any = UNSET
    trigger: TriggerTypeDetail | None
    function: FunctionDetail | None


class WorkerSummary(msgspec.Struct):
    """``WorkerSummary``: every key present, some may be null (self-reported values as sent)."""

    name: str | None
    description: Any
    version: Any
    id: str
    namespace: str
    runtime: Any
    os: Any
    status: str
    function_count: int
    connected_at_ms: int
    active_invocations: int
    isolation: Any
    ip_address: str | None


def function_summary(entry: FunctionEntry) -> FunctionSummary:
    """``FunctionSummary`` of a registered function."""
    row = FunctionSummary(entry.function_id, entry.namespace, function_worker_name(entry))
    if entry.description:
        row.description = entry.description
    if entry.metadata is not UNSET:
        metadata = from_raw(entry.metadata)
        if metadata is not None:
            row.metadata = metadata
    return row


def function_detail(triggers: TriggerRegistry, entry: FunctionEntry) -> FunctionDetail:
    """``FunctionDetail``: the summary plus schemas and the bindings that target it."""
    summary = function_summary(entry)
    bindings = sorted(
        (
            TriggerRef(b.id, b.trigger_type, b.config)
            for b in triggers.live.values()
            if b.function_id == entry.function_id and b.namespace == entry.namespace
        ),
        key=lambda r: str(r.id),
    )
    row = FunctionDetail(
        function_id=summary.function_id,
        namespace=summary.namespace,
        worker_name=summary.worker_name,
        description=summary.description,
        registered_triggers=bindings,
        metadata=summary.metadata,
    )
    request, response = from_raw(entry.request_format), from_raw(entry.response_format)
    if request is not None:
        row.request_schema = request
    if response is not None:
        row.response_schema = response
    return row


def trigger_type_summary(entry: TriggerTypeEntry) -> TriggerTypeSummary:
    """``TriggerTypeSummary``."""
    if entry.owner is not None and entry.owner.name is not None:
        worker_name = entry.owner.name
    elif entry.worker_name is not None:
        worker_name = entry.worker_name
    elif entry.id.startswith("stream"):
        worker_name = "iii-stream"
    else:
        worker_name = _BUILTIN_TYPE_WORKERS.get(entry.id, _first_segment(entry.id))
    return TriggerTypeSummary(entry.id, entry.namespace, worker_name, entry.description)


def trigger_type_detail(entry: TriggerTypeEntry) -> TriggerTypeDetail:
    """``TriggerTypeDetail``."""
    summary = trigger_type_summary(entry)
    row = TriggerTypeDetail(
        id=summary.id,
        namespace=summary.namespace,
        worker_name=summary.worker_name,
        description=summary.description,
        instance_count=len(entry.bindings),
    )
    provider = entry.provider
    if provider.trigger_request_format is not None:
        row.configuration_schema = provider.trigger_request_format
    if provider.call_request_format is not None:
        row.request_schema = provider.call_request_format
    if provider.call_response_format is not None:
        row.response_schema = provider.call_response_format
    return row


def _binding_worker_name(functions: FunctionRegistry, binding: Binding) -> str:
    if binding.owner is not None and binding.owner.name is not None:
        return binding.owner.name
    entry = functions.get(binding.namespace, binding.function_id)
    return function_worker_name(entry) if entry is not None else _first_segment(binding.function_id)


def registered_trigger_summary(
    functions: FunctionRegistry, binding: Binding
) -> RegisteredTriggerSummary:
    """``RegisteredTriggerSummary``."""
    summary = json.dumps(binding.config, separators=(",", ":"), ensure_ascii=False)
    if len(summary) > 80:
        summary = summary[:80] + "…"
    return RegisteredTriggerSummary(
        binding.id,
        binding.trigger_type,
        binding.function_id,
        _binding_worker_name(functions, binding),
        binding.config,
        summary,
    )


def registered_trigger_detail(
    functions: FunctionRegistry, triggers: TriggerRegistry, binding: Binding
) -> RegisteredTriggerDetail:
    """A live binding with its trigger type's and its function's details."""
    provider = binding.provider
    entry = functions.get(binding.namespace, binding.function_id)
    row = RegisteredTriggerDetail(
        id=binding.id,
        trigger_type=binding.trigger_type,
        function_id=binding.function_id,
        worker_name=_binding_worker_name(functions, binding),
        config=binding.config,
        trigger=None if provider is None else trigger_type_detail(provider),
        function=None if entry is None else function_detail(triggers, entry),
    )
    if binding.metadata is not None:
        row.metadata = binding.metadata
    return row


def worker_summary(workers: WorkerTable, conn: Peer) -> WorkerSummary:
    """``WorkerSummary`` of a connected worker."""
    info = conn.info
    return WorkerSummary(
        name=conn.name,
        description=info.get("description"),
        version=info.get("version"),
        id=conn.worker_id,
        namespace=conn.namespace,
        runtime=info.get("runtime"),
        os=info.get("os"),
        status="connected",
        function_count=workers.function_count(conn),
        connected_at_ms=conn.connected_at_ms,
        active_invocations=workers.router.active_invocations(conn),
        isolation=info.get("isolation"),
        ip_address=conn.ip_address,
    )


def builtin_worker_summary(name: str, version: str, function_count: int) -> WorkerSummary:
    """``WorkerSummary`` of a worker running inside the engine."""
    return WorkerSummary(
        name=name,
        description=None,
        version=version,
        id=name,
        namespace="default",
        runtime="engine",
        os=None,
        status="available",
        function_count=function_count,
        connected_at_ms=0,
        active_invocations=0,
        isolation="in-process",
        ip_address=None,
    )
