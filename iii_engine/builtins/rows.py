"""The row shapes returned by the ``engine::*`` functions (protocol.md section 5)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from iii_engine.core.registry import FunctionEntry
from iii_sdk.protocol import UNSET, from_raw

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionRegistry
    from iii_engine.core.triggers import Binding, TriggerRegistry, TriggerTypeEntry
    from iii_engine.core.workers import WorkerTable

__all__ = [
    "function_detail",
    "function_summary",
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


def function_summary(entry: FunctionEntry) -> dict[str, Any]:
    """``FunctionSummary``."""
    row: dict[str, Any] = {
        "function_id": entry.function_id,
        "namespace": entry.namespace,
        "worker_name": function_worker_name(entry),
    }
    if entry.description:
        row["description"] = entry.description
    if entry.metadata is not UNSET:
        metadata = from_raw(entry.metadata)
        if metadata is not None:
            row["metadata"] = metadata
    return row


def function_detail(triggers: TriggerRegistry, entry: FunctionEntry) -> dict[str, Any]:
    """``FunctionDetail``: the summary plus schemas and the bindings that target it."""
    row = function_summary(entry)
    request, response = from_raw(entry.request_format), from_raw(entry.response_format)
    if request is not None:
        row["request_schema"] = request
    if response is not None:
        row["response_schema"] = response
    row["registered_triggers"] = sorted(
        (
            {"id": b.id, "trigger_type": b.trigger_type, "config": b.config}
            for b in triggers.live.values()
            if b.function_id == entry.function_id and b.namespace == entry.namespace
        ),
        key=lambda r: str(r["id"]),
    )
    if "metadata" in row:
        row["metadata"] = row.pop("metadata")
    return row


def trigger_type_summary(entry: TriggerTypeEntry) -> dict[str, Any]:
    """``TriggerTypeSummary``."""
    if entry.owner is not None and entry.owner.name is not None:
        worker_name = entry.owner.name
    elif entry.worker_name is not None:
        worker_name = entry.worker_name
    elif entry.id.startswith("stream"):
        worker_name = "iii-stream"
    else:
        worker_name = _BUILTIN_TYPE_WORKERS.get(entry.id, _first_segment(entry.id))
    return {
        "id": entry.id,
        "namespace": entry.namespace,
        "worker_name": worker_name,
        "description": entry.description,
    }


def trigger_type_detail(entry: TriggerTypeEntry) -> dict[str, Any]:
    """``TriggerTypeDetail``."""
    row = trigger_type_summary(entry)
    provider = entry.provider
    config_schema = provider.trigger_request_format
    request_schema = provider.call_request_format
    response_schema = provider.call_response_format
    if config_schema is not None:
        row["configuration_schema"] = config_schema
    if request_schema is not None:
        row["request_schema"] = request_schema
    if response_schema is not None:
        row["response_schema"] = response_schema
    row["instance_count"] = len(entry.bindings)
    return row


def registered_trigger_summary(functions: FunctionRegistry, binding: Binding) -> dict[str, Any]:
    """``RegisteredTriggerSummary``."""
    if binding.owner is not None and binding.owner.name is not None:
        worker_name = binding.owner.name
    else:
        entry = functions.get(binding.namespace, binding.function_id)
        worker_name = (
            function_worker_name(entry)
            if entry is not None
            else _first_segment(binding.function_id)
        )
    summary = json.dumps(binding.config, separators=(",", ":"), ensure_ascii=False)
    if len(summary) > 80:
        summary = summary[:80] + "…"
    return {
        "id": binding.id,
        "trigger_type": binding.trigger_type,
        "function_id": binding.function_id,
        "worker_name": worker_name,
        "config": binding.config,
        "config_summary": summary,
    }


def worker_summary(workers: WorkerTable, conn: Peer) -> dict[str, Any]:
    """``WorkerSummary`` of a connected worker (every key present, some may be null)."""
    info = conn.info
    return {
        "name": conn.name,
        "description": info.get("description"),
        "version": info.get("version"),
        "id": conn.worker_id,
        "namespace": conn.namespace,
        "runtime": info.get("runtime"),
        "os": info.get("os"),
        "status": "connected",
        "function_count": workers.function_count(conn),
        "connected_at_ms": conn.connected_at_ms,
        "active_invocations": workers.router.active_invocations(conn),
        "isolation": info.get("isolation"),
        "ip_address": conn.ip_address,
    }
