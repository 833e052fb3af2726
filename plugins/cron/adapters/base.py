"""The one interface of iii-cron's lock backends (:class:`CronLock`).

A run of job ``j`` for the tick scheduled at ``t`` first calls ``acquire(j, t)``. It returns a
token when this engine may run the tick, ``None`` when another run of ``j`` holds the lock or
(``redis``) another engine already took tick ``t``. The holder renews the lock while the
handler runs and releases it with the token afterwards.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["CronLock"]


class CronLock(Protocol):
    """Per-job run locks, optionally shared by several engines."""

    ttl_ms: int
    shared: bool
    """True when other engines may contend for the lock (a held lock is then renewed)."""

    async def open(self) -> None:
        """Connect; raise if the backend is unusable."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def acquire(self, job_id: str, scheduled_ms: int) -> str | None:
        """Take the lock of ``job_id`` for the tick at ``scheduled_ms``; a token or ``None``."""
        ...

    async def renew(self, job_id: str, token: str) -> bool:
        """Extend a held lock by the TTL; ``False`` if it is no longer ours."""
        ...

    async def release(self, job_id: str, token: str) -> None:
        """Drop the lock if ``token`` still holds it."""
        ...
