"""The ``file`` adapter: an in-memory mirror of an embedded SQLite database.

Reads are served from memory, exactly like :class:`MemoryAdapter`. Each write is applied to
memory, journalled, and committed by a single dedicated thread that batches whatever
accumulated while the previous commit ran (group commit; a key written many times in one batch
costs one row write). A write is answered only once the transaction holding it committed, so an
acknowledged ``state::set`` survives ``kill -9`` of the engine (with ``synchronous=NORMAL`` in
WAL mode, a power loss may still drop the last commits). The event loop never blocks on disk:
callers await their batch's commit while other work goes on.

Table ``state(scope, key, value, seq)``: ``value`` is the JSON text, ``seq`` the insertion
order (an overwrite keeps its position, a re-insert after a delete goes last, as in a dict).
One engine process per database file.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from plugins.state.adapters.memory import MemoryAdapter

__all__ = ["FileAdapter"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID
"""
_UPSERT = (
    "INSERT INTO state (scope, key, value, seq) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value"
)
_DELETE = "DELETE FROM state WHERE scope = ? AND key = ?"

_Slot = tuple[str, str]
# The net change of one key since the last batch: (value or None for a delete, seq of the
# row if it gets inserted, whether the committed row must be deleted first).
_Change = tuple[str | None, int, bool]


class FileAdapter(MemoryAdapter):
    """SQLite-backed store at ``path`` (parent directories are created)."""

    def __init__(self, path: Path, logger: logging.Logger | None = None) -> None:
        super().__init__()
        self.set_now = None  # a write is answered only once committed: it waits
        self.path = path
        self._logger = logger or logging.getLogger("iii.state")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iii-state-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._pending: dict[_Slot, _Change] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._seq = 0
        self._closed = False
        self._taken = 0  # batches handed to the database thread so far
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    async def open(self) -> None:
        """Open (or create) the database and load it into memory."""
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(self._executor, self._open_db)
        for scope, key, value, seq in rows:
            super()._put(scope, key, value.encode())
            self._seq = max(self._seq, seq)

    async def close(self) -> None:
        """Commit every pending write, then close the database."""
        self._closed = True
        if self._flusher is not None:
            # Even a cancelled flusher leaves its batch queued on the thread, ahead of ours.
            await asyncio.gather(self._flusher, return_exceptions=True)
        loop = asyncio.get_running_loop()
        try:
            if self._pending:
                batch, self._pending = self._pending, {}
                self._taken += 1
                await loop.run_in_executor(self._executor, self._commit, batch)
                self._finish(self._taken, None)
            await loop.run_in_executor(self._executor, self._close_db)
        finally:
            self._executor.shutdown(wait=False)

    async def committed(self) -> None:
        """Wait until the writes made so far are committed (not later ones); raise if not.

        Unlike :meth:`flush`, this returns as soon as the batch holding those writes is done,
        even while other writers keep the database thread busy.
        """
        if self._pending:
            target = self._taken + 1
        elif self._flusher is not None and not self._flusher.done():
            target = self._taken
        else:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(target, []).append(waiter)
        await waiter

    def _finish(self, batch: int, error: BaseException | None) -> None:
        for waiter in self._waiters.pop(batch, ()):
            if waiter.done():
                continue
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(RuntimeError(f"could not write to {self.path}: {error}"))

    async def flush(self) -> None:
        """Wait until every write made so far is committed."""
        while (flusher := self._flusher) is not None and not flusher.done():
            await asyncio.gather(flusher, return_exceptions=True)

    async def set(self, scope: str, key: str, data: bytes) -> bytes | None:
        """Store ``data``; return the previous value once the write is committed."""
        old = self._put(scope, key, data)
        await self.committed()
        return old

    async def delete(self, scope: str, key: str) -> bytes | None:
        """Remove a key; return the removed value once the deletion is committed."""
        old = self._remove(scope, key)
        if old is not None:
            await self.committed()
        return old

    async def update(
        self, scope: str, key: str, transform: Callable[[bytes | None], tuple[bytes, T]]
    ) -> tuple[bytes | None, bytes, T]:
        """Replace the value by ``transform(old)`` atomically; return once committed."""
        result = await super().update(scope, key, transform)
        await self.committed()
        return result

    def _put(self, scope: str, key: str, data: bytes) -> bytes | None:
        self._check_open()
        self._seq += 1
        self._journal((scope, key), data.decode())
        return super()._put(scope, key, data)

    def _remove(self, scope: str, key: str) -> bytes | None:
        self._check_open()
        old = super()._remove(scope, key)
        if old is not None:
            self._journal((scope, key), None)
        return old

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the state store {self.path} is closed")

    def _journal(self, slot: _Slot, value: str | None) -> None:
        # Coalesce per key: a hot key rewritten many times costs one row write per batch.
        previous = self._pending.get(slot)
        if value is None:
            change: _Change = (None, 0, True)
        elif previous is None:
            change = (value, self._seq, False)
        elif previous[0] is None:
            change = (value, self._seq, True)  # deleted then re-inserted: it moves last
        else:
            change = (value, previous[1], previous[2])
        self._pending[slot] = change
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_pending())
            self._flusher.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        if self._flusher is task:
            self._flusher = None

    async def _flush_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, {}
            self._taken += 1
            number, error = self._taken, None
            try:
                await loop.run_in_executor(self._executor, self._commit, batch)
            except (sqlite3.Error, OSError) as exc:
                error = exc
                self._logger.exception(
                    "iii-state: could not write %d change(s) to %s", len(batch), self.path
                )
            finally:
                self._finish(number, error)

    # --- runs on the dedicated thread --------------------------------------------------------

    def _open_db(self) -> list[tuple[str, str, str, int]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        self._conn = conn
        cursor = conn.execute("SELECT scope, key, value, seq FROM state ORDER BY seq")
        return cursor.fetchall()

    def _commit(self, batch: dict[_Slot, _Change]) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN")
        try:
            for (scope, key), (value, seq, delete_first) in batch.items():
                if delete_first:
                    conn.execute(_DELETE, (scope, key))
                if value is not None:
                    conn.execute(_UPSERT, (scope, key, value, seq))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _close_db(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
