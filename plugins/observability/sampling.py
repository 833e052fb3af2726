"""Head sampling: which new traces are kept (workers.md §8.1 ``sampling_ratio`` / ``sampling``).

A span with a parent follows its parent's decision when ``parent_based`` (the default), so a
trace is kept or dropped as a whole across workers. A new trace is kept with the probability of
the first rule matching its operation and service (``default`` / ``sampling_ratio`` otherwise),
and, with ``rate_limit``, only while fewer than ``max_traces_per_second`` were kept this second.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from random import random

from plugins.observability.config import ObservabilityConfig

__all__ = ["Sampler"]


class Sampler:
    """Decides whether a new trace is recorded."""

    def __init__(
        self, config: ObservabilityConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.default_ratio = config.default_ratio
        sampling = config.sampling
        self.parent_based = True if sampling is None else sampling.parent_based
        self.rules: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None, float]] = []
        for rule in [] if sampling is None else sampling.rules:
            operation = None if rule.operation is None else _glob(rule.operation)
            service = None if rule.service is None else _glob(rule.service)
            self.rules.append((operation, service, rule.rate))
        limit = None if sampling is None or sampling.rate_limit is None else sampling.rate_limit
        self.max_per_second = None if limit is None else limit.max_traces_per_second
        self._clock = clock
        self._window = 0
        self._kept = 0
        self.always = self.default_ratio >= 1.0 and not self.rules and self.max_per_second is None
        """True when every new trace is kept (the common case decides without a call)."""

    def sample_root(self, name: str, function_id: str | None, service: str) -> bool:
        """Whether a new trace whose first span is ``name`` is recorded."""
        ratio = self.default_ratio
        for operation, svc, rate in self.rules:
            if operation is not None and not (
                operation.match(name) or (function_id is not None and operation.match(function_id))
            ):
                continue
            if svc is not None and not svc.match(service):
                continue
            ratio = rate
            break
        if ratio <= 0.0 or (ratio < 1.0 and random() >= ratio):
            return False
        if self.max_per_second is not None:
            window = int(self._clock())
            if window != self._window:
                self._window, self._kept = window, 0
            if self._kept >= self.max_per_second:
                return False
            self._kept += 1
        return True

    def describe(self) -> dict[str, object]:
        """The ``traces`` part of ``engine::sampling::rules``."""
        return {
            "default_ratio": self.default_ratio,
            "rules": [],  # filled by the caller from the config (original globs)
            "parent_based": self.parent_based,
        }


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))
