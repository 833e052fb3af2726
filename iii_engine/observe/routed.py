"""The routed path: calls through the engine to observed functions, and activations.

The router hands a call here only when it needs more than byte forwarding: the function has
observers, or the frame carries 0.25's ``caller``/``observe_depth``/``activation``. The call
is forwarded with the caller stamped (``worker_id``/``worker_name`` of the calling connection)
to executors that speak ``observe.v1``; once it finished, each active observer of an ``auto``
function checks ``on`` and its filter and, on a match, activates its target with the
``Observed`` envelope (or the input or output alone). Activation frames are queued to their
targets before the observed call's result goes back to its caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

from iii_engine.core import sizes
from iii_engine.core.invocation import Pending, caller_parts, inject_caller
from iii_engine.core.registry import FunctionEntry
from iii_engine.observe.delivery import OwnerDelivery
from iii_engine.observe.events import (
    Event,
    Slot,
    Watch,
    depth_of,
    error_dict,
    stamp_caller,
)
from iii_engine.observe.model import LOOP_GUARD_DEPTH, MAX_QUEUED, Observer, ObserverSet
from iii_engine.observe.validate import descriptor
from iii_sdk import errors
from iii_sdk.errors import error_body
from iii_sdk.observe_protocol import FEATURE_OBSERVE
from iii_sdk.protocol import (
    ErrorBody,
    InvocationResult,
    InvokeFunction,
    encode,
    from_raw,
    is_null,
    new_id,
    to_raw,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.router import Router
    from iii_engine.observe.hub import ObserveHub

__all__ = ["Activations"]

log = logging.getLogger("iii.observe")

_json = msgspec.json.encode
ENGINE_NAME = "iii-engine"
_INVOKE_HEAD = b'{"type":"invokefunction","invocation_id":"'


class Activations:
    """Routes watched calls and runs activations."""

    def __init__(self, hub: ObserveHub, router: Router) -> None:
        self.hub = hub
        self.router = router
        self.delivery = OwnerDelivery(hub, router)
        hub.activations = self

    # --- calls through the engine ----------------------------------------------------------------

    async def route(
        self,
        conn: Peer,
        msg: InvokeFunction,
        entry: FunctionEntry,
        reply_id: str | None,
    ) -> None:
        """Invoke ``entry`` for ``conn`` (the router's slow path)."""
        if msg.activation is not UNSET:
            activation = from_raw(msg.activation)
            if isinstance(activation, dict) and isinstance(activation.get("observer_id"), str):
                await self.delivery.owner_call(conn, msg, activation["observer_id"], reply_id)
                return
        depth = depth_of(msg.observe_depth)
        caller = stamp_caller(from_raw(msg.caller), conn)
        observers = entry.observers
        watch: Watch | None = None
        if (
            isinstance(observers, ObserverSet)
            and descriptor(entry).get("delivery") != "owner"
            and observers.active()
        ):
            watch = Watch(self, observers, entry, msg, caller, depth)
        executor = entry.owner
        if executor is None:
            data = inject_caller(msg.data, conn.worker_id)
            self.router._spawn(self._run_local(entry, conn, reply_id, msg, data, watch))
            return
        router = self.router
        limit = executor.max_inbound
        if limit is not None and len(msg.data or b"") > limit:
            if reply_id is not None:
                await conn.send_error(
                    reply_id,
                    msg.function_id,
                    sizes.PAYLOAD_TOO_LARGE,
                    sizes.too_large(len(msg.data or b""), limit),
                )
            return
        invocation_id = new_id() if reply_id is None or reply_id in router.pending else reply_id
        if reply_id is not None or watch is not None:
            pending = Pending(
                msg.function_id,
                executor,
                conn if reply_id is not None else None,
                reply_id if reply_id is not None and reply_id != invocation_id else None,
            )
            pending.watch = watch
            router.pending[invocation_id] = pending
        if watch is not None:
            watch.invocation_id = invocation_id
        capable = FEATURE_OBSERVE in executor.features
        if msg.traceparent is None and msg.baggage is None and is_null(msg.metadata):
            # The common frame, spliced from bytes like the router's own path.
            tail: tuple[bytes, ...] = (b"}",)
            if capable:
                tail = (
                    b',"caller":',
                    _json(caller),
                    b"}" if not depth else b',"observe_depth":%d}' % depth,
                )
            sent = await executor.send_parts(
                (
                    _INVOKE_HEAD,
                    invocation_id.encode(),
                    entry.frame_middle(),
                    *caller_parts(msg.data, conn.worker_id),
                    *tail,
                )
            )
            if not sent and reply_id is not None:
                router._fail(
                    invocation_id, errors.CHANNEL_SEND_FAILED, "Executor channel is closed"
                )
            return
        frame = InvokeFunction(
            invocation_id=invocation_id,
            function_id=msg.function_id,
            data=inject_caller(msg.data, conn.worker_id),
            traceparent=msg.traceparent,
            baggage=msg.baggage,
            metadata=msg.metadata,
        )
        if capable:
            frame.caller = to_raw(caller)
            frame.observe_depth = depth or None
        if not await executor.send(encode(frame)) and reply_id is not None:
            router._fail(invocation_id, errors.CHANNEL_SEND_FAILED, "Executor channel is closed")

    async def _run_local(
        self,
        entry: FunctionEntry,
        conn: Peer,
        reply_id: str | None,
        msg: InvokeFunction,
        data: Raw | UnsetType,
        watch: Watch | None,
    ) -> None:
        assert entry.handler is not None
        result: Raw | UnsetType = UNSET
        error: ErrorBody | None = None
        try:
            value = await entry.handler(from_raw(data), from_raw(msg.metadata))
            result = to_raw(value) if value is not None else UNSET
        except Exception as exc:
            error = error_body(exc)
        if watch is not None:
            watch.invocation_id = reply_id or new_id()
            self.evaluate(watch, result, error)
        if reply_id is not None:
            await conn.send(
                encode(
                    InvocationResult(
                        invocation_id=reply_id,
                        function_id=msg.function_id,
                        result=result,
                        error=error,
                    )
                )
            )

    @staticmethod
    def watched(entry: FunctionEntry) -> bool:
        """True when ``entry`` has observers (not only an owner that speaks observe.v1)."""
        return isinstance(entry.observers, ObserverSet)

    async def invoke(
        self,
        entry: FunctionEntry,
        payload: Any,
        metadata: Any,
        timeout_ms: float | None,
        *,
        void: bool = False,
    ) -> Any:
        """A call the engine itself makes (triggers, HTTP, ``Engine.invoke``), observed."""
        observers = entry.observers
        watch: Watch | None = None
        data = to_raw(payload)
        raw_metadata: Raw | UnsetType = UNSET if metadata is None else to_raw(metadata)
        if isinstance(observers, ObserverSet) and observers.active():
            frame = InvokeFunction(function_id=entry.function_id, data=data, metadata=raw_metadata)
            watch = Watch(self, observers, entry, frame, {"worker_name": ENGINE_NAME}, 0)
            watch.invocation_id = new_id()
        result: Raw | UnsetType = UNSET
        error: ErrorBody | None = None
        try:
            if entry.handler is not None:
                async with asyncio.timeout(None if timeout_ms is None else timeout_ms / 1000):
                    value = await entry.handler(payload, metadata)
                result = UNSET if value is None else to_raw(value)
            else:
                result = await self.router.invoke_remote(entry, data, raw_metadata, timeout_ms)
        except TimeoutError:
            error = ErrorBody(errors.TIMEOUT, "Invocation timed out")
        except Exception as exc:
            error = error_body(exc)
        if watch is not None:
            self.evaluate(watch, result, error)
        if error is not None:
            if void:
                log.debug("void invocation of %s failed: %s", entry.function_id, error.message)
                return None
            raise errors.InvocationError(
                error.code,
                error.message,
                function_id=entry.function_id,
                stacktrace=error.stacktrace,
            )
        return None if void else from_raw(result)

    # --- evaluation ------------------------------------------------------------------------------

    def evaluate(self, watch: Watch, result: Raw | UnsetType, error: ErrorBody | None) -> None:
        """Match every active observer against the finished call; activate the matches."""
        status = "error" if error is not None else "success"
        doc: dict[str, Any] | None = None
        event: Event | None = None
        for observer in watch.observers.active():
            on = observer.on
            if on not in ("complete", status):
                continue
            if doc is None:
                doc = {"input": from_raw(watch.data), "caller": watch.caller}
                if status == "success":
                    doc["output"] = from_raw(result)
                else:
                    assert error is not None
                    doc["error"] = error_dict(error)
                metadata = from_raw(watch.metadata)
                if metadata is not None:
                    doc["metadata"] = metadata
            if not observer.pred(doc):
                continue
            if event is None:
                event = Event(
                    watch.entry.function_id,
                    watch.entry.namespace,
                    watch.invocation_id,
                    watch.started_ms,
                    round((time.perf_counter() - watch.started) * 1000, 3),
                    watch.depth,
                    watch.traceparent,
                )
            self.activate(observer, event, status, doc)

    @staticmethod
    def event_from_report(entry: FunctionEntry, item: dict[str, Any]) -> Event:
        """The event of one ``invocationsobserved`` item."""
        invocation_id = item.get("invocation_id")
        started = item.get("started_at_ms")
        duration = item.get("duration_ms")
        traceparent = item.get("traceparent")
        return Event(
            entry.function_id,
            entry.namespace,
            invocation_id if isinstance(invocation_id, str) else new_id(),
            int(started) if isinstance(started, int | float) else int(time.time() * 1000),
            float(duration) if isinstance(duration, int | float) else 0.0,
            depth_of(item.get("observe_depth")),
            traceparent if isinstance(traceparent, str) else None,
        )

    def activate(self, observer: Observer, event: Event, status: str, doc: dict[str, Any]) -> None:
        """One matched event: build the activation's data and send or queue it."""
        depth = event.depth + 1
        if depth > LOOP_GUARD_DEPTH:
            observer.dropped["LOOP_GUARD"] += 1
            return
        activation_id = new_id()
        if observer.deliver == "input":
            data: Any = doc.get("input")
        elif observer.deliver == "output":
            data = doc.get("output")
        else:
            data = {
                "observer_id": observer.id,
                "activation_id": activation_id,
                "function_id": event.function_id,
                "namespace": event.namespace,
                "invocation_id": event.invocation_id,
                "status": status,
            }
            for part in observer.capture:
                if part in doc:
                    data[part] = doc[part]
            data["started_at_ms"] = event.started_ms
            data["duration_ms"] = event.duration_ms
        caller = {
            "worker_name": ENGINE_NAME,
            "function_id": event.function_id,
            "invocation_id": event.invocation_id,
        }
        self.fire(observer, data, caller, depth, activation_id, event.traceparent)

    def fire(
        self,
        observer: Observer,
        data: Any,
        caller: dict[str, Any],
        depth: int,
        activation_id: str,
        traceparent: str | None = None,
    ) -> bool:
        """Count the activation (``max_fires``), then send it or queue it (``max_in_flight``)."""
        if observer.max_fires is not None and observer.fires >= observer.max_fires:
            return False
        item = (to_raw(data), caller, depth, activation_id, traceparent)
        if observer.in_flight >= observer.max_in_flight:
            if len(observer.queue) >= MAX_QUEUED:
                observer.dropped["QUEUE_FULL"] += 1
                return False
            observer.queue.append(item)
        else:
            self._send(observer, *item)
        observer.fires += 1
        if observer.max_fires is not None and observer.fires >= observer.max_fires:
            self.hub.dispose(observer, "MAX_FIRES", f"fired {observer.fires} time(s)")
        return True

    def release(self, observer: Observer) -> None:
        """An activation was answered: send the next queued one."""
        observer.in_flight = max(0, observer.in_flight - 1)
        self.pump(observer)

    def pump(self, observer: Observer) -> None:
        """Send queued activations while slots are free."""
        while observer.queue and observer.in_flight < observer.max_in_flight:
            self._send(observer, *observer.queue.popleft())

    def _send(
        self,
        observer: Observer,
        data: Raw,
        caller: dict[str, Any],
        depth: int,
        activation_id: str,
        traceparent: str | None,
    ) -> None:
        entry = self.hub.functions.get(*observer.target)
        if entry is None:
            observer.dropped["TARGET_UNAVAILABLE"] += 1
            return
        observer.in_flight += 1
        if entry.handler is not None:
            self.router._spawn(self._run_target(observer, entry, data))
            return
        owner = entry.owner
        assert owner is not None
        if owner.max_inbound is not None and len(data) > owner.max_inbound:
            observer.in_flight -= 1
            observer.dropped["TOO_LARGE"] += 1
            return
        invocation_id = new_id()
        pending = Pending(entry.function_id, owner)
        pending.watch = Slot(self, observer)
        self.router.pending[invocation_id] = pending
        frame = InvokeFunction(
            invocation_id=invocation_id,
            function_id=entry.function_id,
            data=data,
            metadata=observer.metadata,
            traceparent=traceparent,
        )
        if FEATURE_OBSERVE in owner.features:
            frame.caller = to_raw(caller)
            frame.observe_depth = depth
            frame.activation = to_raw({"observer_id": observer.id, "activation_id": activation_id})
        if owner.closing:  # cleanup started: stop_invocations would not see this record
            self.router.pending.pop(invocation_id, None)
            self.release(observer)
            return
        owner.post(encode(frame))

    async def _run_target(self, observer: Observer, entry: FunctionEntry, data: Raw) -> None:
        assert entry.handler is not None
        try:
            await entry.handler(from_raw(data), from_raw(observer.metadata))
        except Exception as exc:
            log.debug("activation of %s failed: %s", entry.function_id, exc)
        finally:
            self.release(observer)
