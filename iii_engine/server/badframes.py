"""Bounded logging of frames the engine could not decode.

A peer that floods undecodable frames (or frames carrying megabyte strings that end up in the
decoder's message) must not be able to write megabytes of log per second: each line is
truncated to :data:`MAX_LINE_CHARS` and each connection may log at most :data:`BURST` lines per
:data:`WINDOW_S` seconds; the lines dropped are counted and reported with the next line logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = [
    "BURST",
    "MAX_LINE_CHARS",
    "MAX_RECORD_CHARS",
    "WINDOW_S",
    "BadFrameLog",
    "LengthCap",
    "cap_log_lines",
    "truncate",
]

MAX_LINE_CHARS = 200
MAX_RECORD_CHARS = 1000
"""Bound of any engine log line, which may quote ids a worker chose (a 1 MB trigger id)."""
BURST = 10
WINDOW_S = 10.0


def truncate(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marking how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


class BadFrameLog:
    """Per-connection rate limiter for "ignoring undecodable frame" log lines."""

    __slots__ = ("_burst", "_clock", "_logger", "_suppressed", "_used", "_window", "_window_start")

    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = BURST,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._burst = burst
        self._window = window_s
        self._clock = clock
        self._window_start = clock()
        self._used = 0
        self._suppressed = 0

    @property
    def suppressed(self) -> int:
        """Lines dropped since the last line logged."""
        return self._suppressed

    def report(self, peer: str, error: object) -> bool:
        """Log one bad frame from ``peer`` unless over the budget; True when logged."""
        now = self._clock()
        if now - self._window_start >= self._window:
            self._window_start = now
            self._used = 0
        if self._used >= self._burst:
            self._suppressed += 1
            return False
        self._used += 1
        suppressed, self._suppressed = self._suppressed, 0
        more = f" ({suppressed} similar lines suppressed)" if suppressed else ""
        self._logger.warning(
            "ignoring undecodable frame from worker %s: %s%s", peer, truncate(str(error)), more
        )
        return True


class LengthCap(logging.Filter):
    """Truncates the message of every record passing through to ``limit`` characters."""

    def __init__(self, limit: int = MAX_RECORD_CHARS) -> None:
        super().__init__()
        self.limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > self.limit:
            record.msg, record.args = truncate(message, self.limit), None
        return True


def cap_log_lines(*names: str) -> None:
    """Install a :class:`LengthCap` on the named loggers (once each)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, LengthCap) for f in logger.filters):
            logger.addFilter(LengthCap())
