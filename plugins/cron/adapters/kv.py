"""The ``kv`` lock backend: locks inside this engine process (upstream's default).

An entry per job holds ``(owner token, expires_at)``; acquiring succeeds when there is none or
it has expired, releasing only removes the caller's own entry. It does not coordinate several
engines: use ``redis`` for that.
"""

from __future__ import annotations

import itertools
import time
import uuid

__all__ = ["KvLock"]


class KvLock:
    """Process-local locks keyed by job id, in the index ``index``."""

    def __init__(self, ttl_ms: int, index: str = "cron_locks") -> None:
        self.ttl_ms = ttl_ms
        self.shared = False
        self.index = index
        self._instance = uuid.uuid4().hex
        self._counter = itertools.count()
        self._held: dict[str, tuple[str, float]] = {}

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Forget every lock."""
        self._held.clear()

    async def acquire(self, job_id: str, scheduled_ms: int) -> str | None:
        """Take the job's lock unless a live holder has it."""
        now = time.monotonic()
        held = self._held.get(job_id)
        if held is not None and held[1] > now:
            return None
        token = f"{self._instance}:{scheduled_ms}:{next(self._counter)}"
        self._held[job_id] = (token, now + self.ttl_ms / 1000)
        return token

    async def renew(self, job_id: str, token: str) -> bool:
        """Push the expiry back if ``token`` holds the lock."""
        held = self._held.get(job_id)
        if held is None or held[0] != token:
            return False
        self._held[job_id] = (token, time.monotonic() + self.ttl_ms / 1000)
        return True

    async def release(self, job_id: str, token: str) -> None:
        """Drop the lock if ``token`` holds it."""
        held = self._held.get(job_id)
        if held is not None and held[0] == token:
            del self._held[job_id]
