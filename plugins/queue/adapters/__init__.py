"""Storage adapters of iii-queue behind one interface (:class:`QueueAdapter`).

``memory`` (process-local), ``file`` (embedded SQLite, the durable default) and ``redis``
(Redis Streams with consumer groups, shared by several engines). :func:`create_adapter` builds
the one a config selects.
"""

from __future__ import annotations

import logging

from plugins.queue.adapters.base import JobRunner, QueueAdapter, QueueStats
from plugins.queue.adapters.file import FileAdapter
from plugins.queue.adapters.memory import MemoryAdapter
from plugins.queue.clock import Clock
from plugins.queue.config import AdapterChoice

__all__ = [
    "FileAdapter",
    "JobRunner",
    "MemoryAdapter",
    "QueueAdapter",
    "QueueStats",
    "create_adapter",
]


def create_adapter(
    choice: AdapterChoice, logger: logging.Logger | None = None, clock: Clock | None = None
) -> QueueAdapter:
    """An unopened adapter for ``choice`` (call ``await adapter.open()``)."""
    if choice.kind == "file":
        assert choice.path is not None
        return FileAdapter(choice.path, synchronous=choice.synchronous, logger=logger, clock=clock)
    if choice.kind == "redis":
        # Imported lazily: redis is an optional dependency (extra ``redis``).
        from plugins.queue.adapters.redis_adapter import RedisAdapter

        assert choice.url is not None
        return RedisAdapter(
            choice.url,
            visibility_timeout_ms=choice.visibility_timeout_ms,
            key_prefix=choice.key_prefix,
            clock=clock,
        )
    return MemoryAdapter(clock)
