"""What an observed invocation leaves behind for its observers.

:class:`Watch` rides on the router's pending record of a call to an observed function and hands
the result to the activations; :class:`Event` is the observed invocation as an envelope
describes it; :class:`Slot` frees an activation's in-flight slot when its target answers.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from msgspec import Raw, UnsetType

from iii_engine.core.registry import FunctionEntry
from iii_engine.observe.model import Observer, ObserverSet
from iii_sdk.protocol import ErrorBody, InvocationResult, InvokeFunction

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = ["Evaluator", "Event", "Slot", "Watch", "depth_of", "error_dict", "stamp_caller"]


def stamp_caller(asserted: Any, conn: Peer) -> dict[str, Any]:
    """The caller as the engine vouches for it: the connection's identity, the rest kept."""
    caller: dict[str, Any] = {"worker_id": conn.worker_id}
    name = conn.name
    if name is not None:
        caller["worker_name"] = name
    if isinstance(asserted, dict):
        for key in ("function_id", "invocation_id"):
            if isinstance(asserted.get(key), str):
                caller[key] = asserted[key]
        parent = asserted.get("parent")
        if isinstance(parent, dict):
            caller["parent"] = {
                k: v
                for k, v in parent.items()
                if k in ("worker_id", "worker_name", "function_id", "invocation_id")
                and isinstance(v, str)
            }
    return caller


def depth_of(value: Any) -> int:
    """``observe_depth`` as the SDKs read it: a positive integer, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class Evaluator(Protocol):
    """What a :class:`Watch` or a :class:`Slot` reports to
    (:class:`~iii_engine.observe.routed.Activations`)."""

    def evaluate(self, watch: Watch, result: Raw | UnsetType, error: ErrorBody | None) -> None: ...

    def release(self, observer: Observer) -> None: ...


class Watch:
    """One observed invocation in flight: what its observers will need once it finished."""

    __slots__ = (
        "activations",
        "caller",
        "data",
        "depth",
        "entry",
        "invocation_id",
        "metadata",
        "observers",
        "started",
        "started_ms",
        "traceparent",
    )

    def __init__(
        self,
        activations: Evaluator,
        observers: ObserverSet,
        entry: FunctionEntry,
        msg: InvokeFunction,
        caller: dict[str, Any],
        depth: int,
    ) -> None:
        self.activations = activations
        self.observers = observers
        self.entry = entry
        self.data: Raw | UnsetType = msg.data
        self.metadata: Raw | UnsetType = msg.metadata
        self.traceparent = msg.traceparent
        self.caller = caller
        self.depth = depth
        self.invocation_id = ""
        self.started = time.perf_counter()
        self.started_ms = int(time.time() * 1000)

    def finish(self, msg: InvocationResult) -> None:
        """The executor answered."""
        self.activations.evaluate(self, msg.result, msg.error)

    def stopped(self) -> None:
        """The executor left before answering: nothing to observe."""


class Event:
    """The observed invocation as an envelope describes it."""

    __slots__ = (
        "depth",
        "duration_ms",
        "function_id",
        "invocation_id",
        "namespace",
        "started_ms",
        "traceparent",
    )

    def __init__(
        self,
        function_id: str,
        namespace: str,
        invocation_id: str,
        started_ms: int,
        duration_ms: float,
        depth: int,
        traceparent: str | None,
    ) -> None:
        self.function_id = function_id
        self.namespace = namespace
        self.invocation_id = invocation_id
        self.started_ms = started_ms
        self.duration_ms = duration_ms
        self.depth = depth
        self.traceparent = traceparent


class Slot:
    """A sent activation: its answer (or the target leaving) frees an in-flight slot."""

    __slots__ = ("activations", "observer")

    def __init__(self, activations: Evaluator, observer: Observer) -> None:
        self.activations = activations
        self.observer = observer

    def finish(self, msg: InvocationResult) -> None:
        """The target answered."""
        self.activations.release(self.observer)

    def stopped(self) -> None:
        """The target left without answering."""
        self.activations.release(self.observer)


def error_dict(error: ErrorBody) -> dict[str, Any]:
    """The ``error`` part of an envelope."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.stacktrace is not None:
        body["stacktrace"] = error.stacktrace
    return body
