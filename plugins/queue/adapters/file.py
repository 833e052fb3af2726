"""The ``file`` adapter (the default): local scheduling with every change journalled to SQLite.

Durability: :meth:`FileAdapter.push` returns (and the enqueue is acknowledged) only after the
SQLite transaction holding the new jobs committed. Writes use group commit: one dedicated
thread commits everything that arrived while the previous transaction ran, in one transaction,
and each caller awaits the commit that holds its write. A job's row is deleted only after its
handler succeeded, so after ``kill -9`` every acknowledged job is still stored; jobs that were in
flight are stored as waiting and run again at once on restart (at-least-once). A job created
and finished within one batch never touches the disk.

``synchronous: normal`` (WAL, the default) survives a process crash; ``full`` also survives
power loss, at the cost of an fsync per commit. One engine process per database file.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from plugins.queue.adapters.local import LocalAdapter
from plugins.queue.clock import Clock
from plugins.queue.job import Job

__all__ = ["FileAdapter", "SqliteJournal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    queue  TEXT NOT NULL,
    id     TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    dead   INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (queue, id)
) WITHOUT ROWID
"""
_UPSERT = "INSERT OR REPLACE INTO jobs (queue, id, seq, dead, record) VALUES (?, ?, ?, ?, ?)"
_DELETE = "DELETE FROM jobs WHERE queue = ? AND id = ?"

_encode = msgspec.json.Encoder().encode
_decode_job = msgspec.json.Decoder(Job).decode

_Slot = tuple[str, str]
# The net change of one job since the last batch: (record or None for a delete, seq, dead,
# whether the job was created in this batch: then a delete needs no write at all).
_Change = tuple[bytes | None, int, bool, bool]


class SqliteJournal:
    """Group-committed writes of job rows on a dedicated thread."""

    def __init__(self, path: Path, synchronous: str, logger: logging.Logger) -> None:
        self.path = path
        self.synchronous = synchronous.upper()
        self._logger = logger
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iii-queue-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._pending: dict[_Slot, _Change] = {}
        self._next: asyncio.Future[None] | None = None
        self._current: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> list[tuple[Job, bool]]:
        """Open (or create) the database; every stored job and whether it is dead, in
        ``seq`` order."""
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(self._executor, self._open_db)
        jobs = []
        for seq, dead, record in rows:
            job = _decode_job(record)
            job.seq = seq
            jobs.append((job, bool(dead)))
        return jobs

    def save(self, job: Job, *, dead: bool, new: bool = False) -> None:
        """Journal the job's current state."""
        self._put((job.queue, job.id), (_encode(job), job.seq, dead, new))

    def remove(self, job: Job) -> None:
        """Journal the job's deletion."""
        self._put((job.queue, job.id), (None, 0, False, False))

    def _put(self, slot: _Slot, change: _Change) -> None:
        previous = self._pending.get(slot)
        if previous is not None and previous[3]:
            change = (change[0], change[1], change[2], True)
        self._pending[slot] = change
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def committed(self) -> None:
        """Wait for the commit holding every change journalled so far."""
        if self._pending:
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._next)
        elif self._current is not None:
            await asyncio.shield(self._current)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, {}
            done, self._next = self._next or loop.create_future(), None
            self._current = done
            try:
                await loop.run_in_executor(self._executor, self._commit, batch)
            except (sqlite3.Error, OSError) as exc:
                self._logger.exception(
                    "iii-queue: could not write %d change(s) to %s", len(batch), self.path
                )
                done.set_exception(exc)
                done.exception()  # retrieved: callers that wait get it, nobody else logs it
            else:
                done.set_result(None)
            finally:
                self._current = None

    async def close(self) -> None:
        """Commit what is pending, then close the database."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.gather(self._flusher, return_exceptions=True)
        loop = asyncio.get_running_loop()
        try:
            if self._pending:
                batch, self._pending = self._pending, {}
                await loop.run_in_executor(self._executor, self._commit, batch)
            await loop.run_in_executor(self._executor, self._close_db)
        finally:
            self._executor.shutdown(wait=False)

    # --- runs on the dedicated thread --------------------------------------------------------

    def _open_db(self) -> list[tuple[int, int, bytes]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute(_SCHEMA)
        self._conn = conn
        return conn.execute("SELECT seq, dead, record FROM jobs ORDER BY seq").fetchall()

    def _commit(self, batch: dict[_Slot, _Change]) -> None:
        conn = self._conn
        assert conn is not None
        upserts = []
        deletes = []
        for slot, (record, seq, dead, new) in batch.items():
            if record is not None:
                upserts.append((slot[0], slot[1], seq, int(dead), record))
            elif not new:
                deletes.append(slot)
        if not upserts and not deletes:
            return
        conn.execute("BEGIN")
        try:
            if deletes:
                conn.executemany(_DELETE, deletes)
            if upserts:
                conn.executemany(_UPSERT, upserts)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _close_db(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class FileAdapter(LocalAdapter):
    """Durable local queues in the SQLite file ``path``."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "normal",
        logger: logging.Logger | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.path = path
        self._sqlite = SqliteJournal(path, synchronous, logger or logging.getLogger("iii.queue"))
        self.journal = self._sqlite

    async def open(self) -> None:
        """Load every stored job: dead letters stay dead, all others (in flight at a crash
        included) wait to run at once, each FIFO group in its original order."""
        for job, dead in await self._sqlite.open():
            self._seq = max(self._seq, job.seq)
            queue = self.queue(job.queue)
            if dead:
                queue.dead[job.id] = job
            else:
                queue.enter(job)

    async def close(self) -> None:
        """Cancel attempts in flight, commit pending changes, close the file."""
        await super().close()
        await self._sqlite.close()
