"""The ``redis`` adapter: Redis Streams with consumer groups, shared by several engines.

Each queue key is a stream (``<prefix>s:<key>``) read by the consumer group ``iii``; every
engine is one consumer (the key layout, counts and dead letters: :mod:`.redis_letters`).
``push`` is ``XADD``, answered once Redis has it (concurrent pushes and acknowledgements share
one transaction: :mod:`.redis_batch`). An engine reads with
``XREADGROUP`` up to its free slots, and removes a message (``XACK`` + ``XDEL``) only after the
handler succeeded. A failed attempt moves the job, in one transaction, to the delayed sorted
set ``<prefix>d:<key>`` (score = when to retry; any engine moves due jobs back to the stream
with an atomic script) or to the dead letters (hash ``<prefix>dlq:<key>`` plus an index by
failure time). Messages of an engine that died stay pending in the group; after
``visibility_timeout_ms`` without a heartbeat another engine takes them over with
``XAUTOCLAIM``. A running job's idle time is reset every third of the timeout, so a long job is
never stolen from a live engine.

FIFO queues run one job at a time across all engines (a lease key held by one engine, renewed
while it lives), in stream order; a failing job is retried in place after its backoff, so the
jobs behind it wait, retries included. Message groups do not run in parallel on Redis.

Stopping does not rely on task cancellation alone: on Python 3.11, redis-py sends commands
under ``asyncio.wait_for`` (its socket timeout), which swallows a cancellation that arrives in
the same loop pass as the send completes; the command then returns normally. Every loop here
also checks a stop flag before its next command, so a swallowed cancellation costs at most one
more command (a blocking read lasts ``block_ms``), and :meth:`RedisAdapter.close` waits a
bounded time for the tasks before it closes the connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import redis.asyncio as redis
from redis.exceptions import ResponseError

from plugins.queue.adapters import redis_letters
from plugins.queue.adapters.base import Defer, JobRunner, QueueStats
from plugins.queue.adapters.redis_batch import Command, CommandBatch
from plugins.queue.adapters.redis_letters import GROUP, RedisKeys
from plugins.queue.clock import Clock, SystemClock, Timer
from plugins.queue.job import Job, QueueSpec, failure_step

__all__ = ["RedisAdapter"]

log = logging.getLogger("iii.queue")

_encode = msgspec.json.Encoder().encode
_decode_job = msgspec.json.Decoder(Job).decode

# KEYS: delayed zset, stream. ARGV: now, max. Moves due jobs to the stream atomically.
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('XADD', KEYS[2], '*', 'job', job)
end
return #due
"""


# How long close() and stop_consuming() wait for a stopped task beyond one blocking read: a
# command in flight ends within redis-py's socket timeout (5 s) even on a dead connection.
_STOP_GRACE_S = 6.0


@dataclass
class _Queue:
    spec: QueueSpec
    runner: JobRunner
    running: dict[bytes, Job] = field(default_factory=dict)
    slot: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    stopped: bool = False
    """Set to stop the consumer and the jobs' retry loops (cancellation may be swallowed)."""


class RedisAdapter:
    """Queues on the Redis server at ``url``, shared with every engine using the same prefix."""

    def __init__(
        self,
        url: str,
        *,
        visibility_timeout_ms: int = 30_000,
        key_prefix: str = "iii:queue:",
        clock: Clock | None = None,
        block_ms: int = 100,
    ) -> None:
        self.url = url
        self.clock: Clock = clock or SystemClock()
        self.prefix = key_prefix
        self.names = RedisKeys(key_prefix)
        self.visibility_ms = visibility_timeout_ms
        self.block_ms = block_ms
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._client: Any = None  # redis.Redis; typed loosely: its replies are unions
        self._queues: dict[str, _Queue] = {}
        self._promote: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._batch = CommandBatch(lambda: self.client)
        self._timers: set[Timer] = set()
        self._closing = False

    @property
    def client(self) -> Any:
        """The connected client (after :meth:`open`)."""
        if self._client is None:
            raise RuntimeError("redis queue adapter is not open")
        return self._client

    async def open(self) -> None:
        """Connect and check the server answers."""
        self._closing = False
        client = redis.Redis.from_url(self.url)
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        self._client = client
        self._promote = self._client.register_script(_PROMOTE)

    async def close(self) -> None:
        """Stop consuming (running jobs stay pending: another engine or a restart resumes them)
        and close every connection; bounded even when a task swallows its cancellation."""
        self._closing = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for queue in self._queues.values():
            queue.stopped = True
        tasks = [q.task for q in self._queues.values() if q.task is not None]
        tasks += list(self._tasks)
        for task in tasks:
            task.cancel()
        await self._settle(tasks)
        flusher = self._batch.flusher
        if flusher is not None:  # acks the jobs finished before they were stopped
            await self._settle([flusher])
        keys = list(self._queues)
        self._queues.clear()
        if self._client is not None:
            with contextlib.suppress(Exception):  # best effort: the server may be gone
                await asyncio.wait_for(self._leave(keys), _STOP_GRACE_S)
            await self._client.aclose()  # closes the pool: every connection, idle or in use
            self._client = None

    async def _settle(self, tasks: Sequence[asyncio.Task[Any]]) -> None:
        """Wait for ``tasks`` to end, at most one blocking read plus the grace period."""
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.block_ms / 1000 + _STOP_GRACE_S)
        for task in late:
            log.warning("iii-queue redis: %s did not stop in time; abandoning it", task)

    async def _leave(self, keys: list[str]) -> None:
        # Drop this engine's consumer from each group it holds nothing in (jobs it was running
        # stay pending under its name, for another engine to take over).
        for key in keys:
            stream = self.names.stream(key)
            pending = await self.client.xpending_range(
                stream, GROUP, min="-", max="+", count=1, consumername=self.consumer
            )
            if not pending:
                await self.client.xgroup_delconsumer(stream, GROUP, self.consumer)

    async def push(self, jobs: Sequence[Job]) -> None:
        """``XADD`` every job (and remember its queue key); return once Redis answered."""
        commands: list[Command] = []
        for job in jobs:
            commands.append(("xadd", (self.names.stream(job.queue), {"job": _encode(job)})))
            commands.append(("sadd", (self.names.known, job.queue)))
        await self._batch.run(commands)

    def consume(self, spec: QueueSpec, runner: JobRunner) -> None:
        """Start this engine's consumer of ``spec.key``."""
        queue = self._queues.get(spec.key)
        if queue is not None:
            queue.spec, queue.runner = spec, runner
            return
        queue = self._queues[spec.key] = _Queue(spec, runner)
        queue.slot.set()
        queue.task = asyncio.get_running_loop().create_task(self._consume(queue))

    async def stop_consuming(self, key: str) -> None:
        """Stop reading ``key`` (its pending jobs are reclaimed after the visibility timeout)."""
        queue = self._queues.pop(key, None)
        if queue is not None and queue.task is not None:
            queue.stopped = True
            queue.task.cancel()
            await self._settle([queue.task])

    # --- consuming -------------------------------------------------------------------------------

    async def _consume(self, queue: _Queue) -> None:
        key = queue.spec.key
        stream = self.names.stream(key)
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self.client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        last_maintenance = 0.0
        while not queue.stopped:
            try:
                await queue.slot.wait()
                now = self.clock.now()
                if now - last_maintenance >= self.visibility_ms / 3000:
                    last_maintenance = now
                    await self._maintain(queue)
                else:
                    await self._promote(keys=[self.names.delayed(key), stream], args=[now, 100])
                if queue.spec.fifo and not await self._lease(queue):
                    await asyncio.sleep(self.block_ms / 1000)
                    continue
                free = self._free(queue)
                if free <= 0:
                    queue.slot.clear()
                    continue
                reply = await self.client.xreadgroup(
                    GROUP, self.consumer, {stream: ">"}, count=free, block=self.block_ms
                )
                for _, messages in reply or ():
                    self._start(queue, messages)
            except asyncio.CancelledError:
                raise
            except Exception:
                if queue.stopped:
                    return
                log.exception("iii-queue redis consumer of %s failed; retrying", key)
                await asyncio.sleep(1)

    def _free(self, queue: _Queue) -> int:
        limit = 1 if queue.spec.fifo else queue.spec.concurrency
        return limit - len(queue.running)

    async def _lease(self, queue: _Queue) -> bool:
        lease = self.names.lease(queue.spec.key)
        client = self.client
        if await client.set(lease, self.consumer, nx=True, px=self.visibility_ms):
            # A new holder first takes over what a vanished holder left pending.
            await self._claim(queue, min_idle_ms=0)
            return True
        holder = await client.get(lease)
        if holder is not None and holder.decode() == self.consumer:
            await client.pexpire(lease, self.visibility_ms)
            return True
        return False

    async def _maintain(self, queue: _Queue) -> None:
        key = queue.spec.key
        stream = self.names.stream(key)
        await self._promote(keys=[self.names.delayed(key), stream], args=[self.clock.now(), 1000])
        if queue.running:  # heartbeat: reset the idle time of what this engine runs
            await self.client.xclaim(
                stream, GROUP, self.consumer, 0, list(queue.running), justid=True
            )
        if not queue.spec.fifo:
            await self._claim(queue, min_idle_ms=self.visibility_ms)

    async def _claim(self, queue: _Queue, *, min_idle_ms: int) -> None:
        free = self._free(queue)
        if free <= 0:
            return
        reply = await self.client.xautoclaim(
            self.names.stream(queue.spec.key), GROUP, self.consumer, min_idle_ms, "0-0", count=free
        )
        messages = reply[1] if reply else []
        if messages:
            log.info("iii-queue: took over %d job(s) of %s", len(messages), queue.spec.key)
            self._start(queue, messages)

    def _start(self, queue: _Queue, messages: list[Any]) -> None:
        if queue.stopped:  # read as the stop came: left pending, like a crash would
            return
        for message_id, fields in messages:
            if not fields or message_id in queue.running:
                continue
            job = _decode_job(fields[b"job"])
            queue.running[message_id] = job
            self._spawn(self._run(queue, message_id, job))
        if self._free(queue) <= 0:
            queue.slot.clear()

    async def _run(self, queue: _Queue, message_id: bytes, job: Job) -> None:
        try:
            while not queue.stopped:
                try:
                    error = await queue.runner(job)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                if isinstance(error, Defer):
                    await self._wait(error.delay)
                    continue
                if error is None:
                    await self._ack(queue, message_id)
                    return
                job.attempts += 1
                job.error = error
                now = self.clock.now()
                retry_at = failure_step(job, now)
                if retry_at is not None and queue.spec.fifo:
                    await self._wait(retry_at - now)  # in place: the queue waits with it
                    continue
                await self._fail(queue, message_id, job, retry_at, now)
                return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("iii-queue: job %s of %s could not complete", job.id, queue.spec.key)
        finally:
            queue.running.pop(message_id, None)
            queue.slot.set()

    async def _wait(self, seconds: float) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        timer = self.clock.call_at(self.clock.now() + seconds, wake)
        try:
            await done
        finally:
            timer.cancel()

    async def _ack(self, queue: _Queue, message_id: bytes) -> None:
        stream = self.names.stream(queue.spec.key)
        await self._batch.run(
            [("xack", (stream, GROUP, message_id)), ("xdel", (stream, message_id))]
        )

    async def _fail(
        self, queue: _Queue, message_id: bytes, job: Job, retry_at: float | None, now: float
    ) -> None:
        key = queue.spec.key
        stream = self.names.stream(key)
        async with self.client.pipeline(transaction=True) as pipe:
            if retry_at is None:
                job.failed_at = now
                pipe.hset(self.names.dead(key), job.id, _encode(job))
                pipe.zadd(self.names.dead_index(key), {job.id: now})
                log.warning(
                    "queue job %s (%s) dead-lettered: %s", job.id, job.function_id, job.error
                )
            else:
                job.available_at = retry_at
                pipe.zadd(self.names.delayed(key), {_encode(job): retry_at})
            pipe.xack(stream, GROUP, message_id)
            pipe.xdel(stream, message_id)
            await pipe.execute()
        if retry_at is not None and not self._closing:
            # Any engine's consumer loop promotes due jobs; this timer makes the retry prompt.
            timer: Timer | None = None

            def due() -> None:
                self._timers.discard(timer)
                if not self._closing:
                    self._spawn(self._promote_due(key))

            timer = self.clock.call_at(retry_at, due)
            self._timers.add(timer)

    async def _promote_due(self, key: str) -> None:
        if self._client is not None and not self._closing:
            keys = [self.names.delayed(key), self.names.stream(key)]
            await self._promote(keys=keys, args=[self.clock.now(), 1000])

    def _spawn(self, coro: Any) -> None:
        if self._closing:  # close() already collected the tasks it waits for
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- inspection and dead letters (see redis_letters) ---------------------------------------

    async def stats(self, key: str) -> QueueStats:
        """Waiting (stream + delayed, minus pending), in flight (pending), dead."""
        return await redis_letters.stats(self.client, self.names, key)

    async def dead_letters(self, key: str, offset: int, limit: int) -> list[Job]:
        """Dead letters by failure time."""
        return await redis_letters.dead_letters(self.client, self.names, key, offset, limit)

    async def redrive(self, key: str, message_id: str | None = None) -> int:
        """Put dead letters back on the stream with attempts reset."""
        return await redis_letters.redrive(self.client, self.names, key, message_id)

    async def discard(self, key: str, message_id: str) -> int:
        """Delete one dead letter."""
        return await redis_letters.discard(self.client, self.names, key, message_id)

    async def keys(self) -> list[str]:
        """Every queue key ever pushed to."""
        return await redis_letters.known_keys(self.client, self.names)
