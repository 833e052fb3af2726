"""Fallback ``engine::log::*`` functions, for an engine running without the iii-observability
plugin (``III_DISABLE_PLUGINS`` / ``III_BLOCK_PLUGINS``).

Logs belong to ``plugins/observability`` (upstream's mandatory ``iii-observability`` worker),
which stores them and joins them to traces. Workers (even RBAC-restricted ones) must always be
able to log, so without that plugin the core registers these: records only go to the
``iii.worker`` logger.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec

from iii_sdk.plugin import decode_input

if TYPE_CHECKING:
    from iii_engine.builtins.host import LocalWorkerContext

__all__ = [
    "LEVELS",
    "LogInput",
    "install_log_functions",
]

log = logging.getLogger("iii.worker")

LEVELS = {
    "trace": logging.DEBUG - 5,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


class LogInput(msgspec.Struct):
    """Input of ``engine::log::<level>``."""

    message: str
    data: Any = None
    trace_id: str | None = None
    span_id: str | None = None
    service_name: str | None = None


def _log_function(level: str) -> Any:
    function_id = f"engine::log::{level}"
    severity = LEVELS[level]

    def emit(payload: Any) -> None:
        entry = decode_input(payload, LogInput, function_id)
        source = entry.service_name or (payload or {}).get("_caller_worker_id") or "worker"
        suffix = "" if entry.data is None else f" {entry.data!r}"
        log.log(severity, "[%s] %s%s", source, entry.message, suffix)

    emit.__doc__ = f"Log a message at {level} level through the engine."
    return emit


def install_log_functions(ctx: LocalWorkerContext) -> None:
    """Register ``engine::log::{trace,debug,info,warn,error}``."""
    for level in LEVELS:
        handler = _log_function(level)
        ctx.register_function(f"engine::log::{level}", handler, description=handler.__doc__)
