"""Lock backends of iii-cron behind one interface (:class:`CronLock`): ``kv`` and ``redis``."""

from __future__ import annotations

from plugins.cron.adapters.base import CronLock
from plugins.cron.adapters.kv import KvLock
from plugins.cron.config import LockChoice

__all__ = ["CronLock", "KvLock", "create_lock"]


def create_lock(choice: LockChoice) -> CronLock:
    """An unopened lock backend for ``choice`` (call ``await lock.open()``)."""
    if choice.kind == "redis":
        # Imported lazily: redis is an optional dependency (extra ``redis``).
        from plugins.cron.adapters.redis_lock import RedisLock

        assert choice.url is not None
        return RedisLock(choice.url, choice.ttl_ms, choice.prefix)
    return KvLock(choice.ttl_ms, choice.index)
