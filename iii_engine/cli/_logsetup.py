"""Logging set-up for the command line (the library itself never installs handlers)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Final

from iii_sdk.observer import CURRENT

__all__ = ["LEVELS", "JsonFormatter", "configure_logging"]

LEVELS: Final = ("trace", "debug", "info", "warning", "error", "critical")
_TEXT_FORMAT: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message`` (+ ``exc``).

    ``trace_id`` / ``span_id`` are added when the record carries them (``extra=``) or when it
    is logged while a span is current (:data:`iii_sdk.observer.CURRENT`), so engine lines join
    the traces of iii-observability.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", None)
        span_id = getattr(record, "span_id", None)
        if trace_id is None:
            span = CURRENT.get()
            if span is not None:
                trace_id, span_id = span.trace_id, span.span_id
        if trace_id is not None:
            entry["trace_id"] = trace_id
            if span_id is not None:
                entry["span_id"] = span_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Send every log record at ``level`` or above to stderr, as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # "trace" is upstream's most verbose level; the stdlib's is DEBUG.
    name = "DEBUG" if level.lower() == "trace" else level.upper()
    root.setLevel(getattr(logging, name, logging.INFO))
    for noisy in ("aiohttp.access", "watchfiles"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
