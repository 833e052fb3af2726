"""Owner delivery (``obs.call``): an owner invokes an observer's target through the engine.

The owner sends ``invokefunction`` with ``activation: {observer_id}`` and the target's id; the
engine checks the observer is active and the sender owns its source, applies the loop guard and
``max_fires``, invokes the stored target with the payload unchanged and the observer's
metadata, and relays the answer.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, Raw, UnsetType

from iii_engine.core.invocation import Pending
from iii_engine.core.registry import FunctionEntry
from iii_engine.observe.events import depth_of, stamp_caller
from iii_engine.observe.model import LOOP_GUARD_DEPTH, Observer
from iii_sdk import errors
from iii_sdk.observe_protocol import FEATURE_OBSERVE
from iii_sdk.protocol import (
    ErrorBody,
    InvocationResult,
    InvokeFunction,
    encode,
    from_raw,
    new_id,
    to_raw,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.router import Router
    from iii_engine.observe.hub import ObserveHub

__all__ = ["OBSERVER_NOT_ACTIVE", "OwnerDelivery"]

OBSERVER_NOT_ACTIVE = "OBSERVER_NOT_ACTIVE"


class OwnerDelivery:
    """Serves ``invokefunction`` frames that carry an owner's ``activation``."""

    def __init__(self, hub: ObserveHub, router: Router) -> None:
        self.hub = hub
        self.router = router

    async def owner_call(
        self,
        conn: Peer,
        msg: InvokeFunction,
        observer_id: str,
        reply_id: str | None,
    ) -> None:
        """Invoke the observer's target for its owner and answer the owner."""
        observer = self.hub.by_id.get(observer_id)
        if observer is None or observer.state != "active":
            if reply_id is not None:
                await conn.send_error(
                    reply_id,
                    msg.function_id,
                    OBSERVER_NOT_ACTIVE,
                    f"observer {observer_id} is not active",
                )
            return
        source = self.hub.functions.get(*observer.source)
        if source is None or source.owner is not conn:
            if reply_id is not None:
                await conn.send_error(
                    reply_id, msg.function_id, errors.FORBIDDEN, "only the owner delivers"
                )
            return
        depth = depth_of(msg.observe_depth) + 1
        if depth > LOOP_GUARD_DEPTH:
            observer.dropped["LOOP_GUARD"] += 1
            if reply_id is not None:
                await conn.send_error(reply_id, msg.function_id, "LOOP_GUARD", "loop guard")
            return
        target = self.hub.functions.get(*observer.target)
        if target is None:
            if reply_id is not None:
                await conn.send_error(
                    reply_id, msg.function_id, OBSERVER_NOT_ACTIVE, "target not registered"
                )
            return
        caller = stamp_caller(from_raw(msg.caller), conn)
        observer.fires += 1
        try:
            result: Any = await self._call_target(observer, target, msg.data, caller, depth)
            error = None
        except errors.InvocationError as exc:
            result, error = UNSET, ErrorBody(exc.code, exc.message, exc.stacktrace)
        finally:
            if observer.max_fires is not None and observer.fires >= observer.max_fires:
                self.hub.dispose(observer, "MAX_FIRES", f"fired {observer.fires} time(s)")
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

    async def _call_target(
        self,
        observer: Observer,
        target: FunctionEntry,
        data: Raw | UnsetType,
        caller: dict[str, Any],
        depth: int,
    ) -> Raw | UnsetType:
        if target.handler is not None:
            value = await target.handler(from_raw(data), from_raw(observer.metadata))
            return UNSET if value is None else to_raw(value)
        owner = target.owner
        assert owner is not None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Raw | UnsetType, ErrorBody | None]] = loop.create_future()
        invocation_id = new_id()
        self.router.pending[invocation_id] = Pending(target.function_id, owner, future=future)
        frame = InvokeFunction(
            invocation_id=invocation_id,
            function_id=target.function_id,
            data=data,
            metadata=observer.metadata,
        )
        if FEATURE_OBSERVE in owner.features:
            frame.caller = to_raw(caller)
            frame.observe_depth = depth
            frame.activation = to_raw({"observer_id": observer.id, "activation_id": new_id()})
        if not await owner.send(encode(frame)):
            self.router.pending.pop(invocation_id, None)
            raise errors.InvocationError(errors.CHANNEL_SEND_FAILED, "Executor channel is closed")
        result, error = await future
        if error is not None:
            raise errors.InvocationError(error.code, error.message, stacktrace=error.stacktrace)
        return result
