"""Jobs, the queues they live in, and the retry policy every adapter applies.

A queue is identified by a *key*: ``q\\x1f<name>`` for a named queue and
``t\\x1f<topic>\\x1f<namespace>\\x1f<function_id>`` for the internal queue of one
``durable:subscriber`` function (each distinct function on a topic gets its own copy of every
message; bindings of the same function share one queue and compete for its messages).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

__all__ = [
    "Job",
    "QueueSpec",
    "failure_step",
    "named_key",
    "parse_key",
    "topic_key",
]

SEP = "\x1f"


def named_key(name: str) -> str:
    """The key of the named queue ``name``."""
    return f"q{SEP}{name}"


def topic_key(topic: str, namespace: str, function_id: str) -> str:
    """The key of the internal queue of one subscriber function of ``topic``."""
    return f"t{SEP}{topic}{SEP}{namespace}{SEP}{function_id}"


def parse_key(key: str) -> tuple[str, str]:
    """``("queue", name)`` or ``("topic", topic)`` for a key."""
    kind, _, rest = key.partition(SEP)
    if kind == "q":
        return "queue", rest
    return "topic", rest.split(SEP, 1)[0]


class Job(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One message: the call to make and its delivery state.

    ``data`` is the payload's JSON text (measured once, stored as is). ``group`` orders FIFO
    messages: jobs of one group run one at a time in ``seq`` order, retries included.
    ``attempts`` counts failed attempts so far; ``error`` / ``failed_at`` describe the last one.
    """

    id: str
    queue: str
    function_id: str
    data: msgspec.Raw
    namespace: str = "default"
    group: str | None = None
    attempts: int = 0
    max_attempts: int = 3
    backoff_ms: int = 1000
    timeout_ms: int = 30_000
    available_at: float = 0.0
    enqueued_at: float = 0.0
    seq: int = 0
    traceparent: str | None = None
    baggage: str | None = None
    error: str | None = None
    failed_at: float | None = None


@dataclass
class QueueSpec:
    """How one queue is consumed: parallelism and the attempt policy of new jobs."""

    key: str
    concurrency: int = 10
    fifo: bool = False
    group_field: str | None = None
    max_attempts: int = 3
    backoff_ms: int = 1000
    timeout_ms: int = 30_000
    condition_function_id: str | None = None


def failure_step(job: Job, now: float) -> float | None:
    """After a failed attempt (``job.attempts`` already counts it): when to retry, or ``None``
    for the dead-letter queue. Backoff is ``backoff_ms * 2^(attempts-1)``."""
    if job.attempts >= job.max_attempts:
        return None
    delay_ms: float = job.backoff_ms * 2.0 ** (job.attempts - 1)
    return now + delay_ms / 1000.0
