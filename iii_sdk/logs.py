"""A standard :mod:`logging` handler that sends records to the engine's ``engine::log::*``.

Records carry the current trace: the OpenTelemetry span when an SDK is configured, otherwise
the context the running handler was invoked with, so iii-observability files each record under
the trace of the request that caused it (``engine::logs::list {"trace_id": …}``).

Example::

    worker = Worker(name="billing")
    log = get_logger(worker, "billing")
    log.info("charged", extra={"data": {"amount": 12}})
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from iii_sdk._tracing import current_ids

if TYPE_CHECKING:
    from iii_sdk.worker import Worker

__all__ = ["EngineLogHandler", "get_logger", "level_name"]


def level_name(levelno: int) -> str:
    """The ``engine::log::<level>`` for a :mod:`logging` level number."""
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    if levelno >= logging.DEBUG:
        return "debug"
    return "trace"


class EngineLogHandler(logging.Handler):
    """Send each record to ``engine::log::<level>`` as a void call (never blocks, never raises).

    ``extra={"data": …}`` becomes the record's ``data``. Safe to use from any thread: records
    emitted off the worker's event loop are handed to it.
    """

    def __init__(
        self, worker: Worker, level: int = logging.NOTSET, service_name: str | None = None
    ) -> None:
        super().__init__(level)
        self.worker = worker
        self.service_name = service_name or worker.name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind_loop(self) -> None:
        """Remember the running loop (the worker's) so other threads can log through it."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        """Queue one ``engine::log::*`` call."""
        try:
            payload: dict[str, Any] = {"message": self.format(record)}
            data = getattr(record, "data", None)
            if data is not None:
                payload["data"] = data
            if self.service_name:
                payload["service_name"] = self.service_name
            trace_id, span_id = current_ids()
            if trace_id is not None:
                payload["trace_id"] = trace_id
                payload["span_id"] = span_id
            function_id = f"engine::log::{level_name(record.levelno)}"
            loop = self._loop
            if loop is None:
                try:
                    self.bind_loop()
                except RuntimeError:
                    return  # no loop yet and none bound: nothing to send through
                loop = self._loop
            if threading.get_ident() == self._loop_thread:
                self.worker.trigger_void(function_id, payload)
            elif loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self.worker.trigger_void, function_id, payload)
        except Exception:
            self.handleError(record)


def get_logger(worker: Worker, name: str | None = None) -> logging.Logger:
    """A :class:`logging.Logger` (``iii.worker.<name>``) whose records reach the engine.

    Call it from the worker's event loop (or log from it first) so records emitted by sync
    handlers running in threads know which loop sends them.
    """
    logger = logging.getLogger(f"iii.worker.{name or worker.name or 'worker'}")
    if not any(isinstance(h, EngineLogHandler) and h.worker is worker for h in logger.handlers):
        handler = EngineLogHandler(worker)
        with contextlib.suppress(RuntimeError):  # called off the loop: bound on first record
            handler.bind_loop()
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.DEBUG)
    return logger
