"""Outgoing invocations waiting for their ``invocationresult``.

Each call is a future keyed by its invocation id. Results resolve the future inline on the
socket's read task (no task per result). Timeouts are enforced by one periodic sweep that runs
only while calls are pending, instead of one timer per call.

A call is the :class:`~iii_sdk._outbound.Outbound` of its frame: the connection tells it the
socket generation the frame goes out on (at once, or from the offline queue after a reconnect).
When that socket drops the engine forgets the call (it answers ``invocation_stopped`` to a
socket that no longer exists), so :meth:`PendingCalls.fail_generation` fails it at once with
``invocation_stopped`` rather than letting it hang until its timeout. Calls still waiting in the
offline queue stay pending; one pushed out of the full queue fails with ``invocation_stopped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from typing import Final

from iii_sdk.errors import INVOCATION_STOPPED, TIMEOUT, InvocationError, invocation_error
from iii_sdk.protocol import InvocationResult, Raw, UnsetType

__all__ = ["Call", "PendingCalls"]

SWEEP_INTERVAL_S: Final = 0.05
_now: Final = time.monotonic
"""The deadlines' clock (asyncio's loop clock, without a method call per call)."""
NOT_SENT: Final = -1


class Call:
    """One pending call; the :class:`~iii_sdk._outbound.Outbound` of its frame."""

    __slots__ = ("deadline", "function_id", "future", "generation", "invocation_id", "table")

    def __init__(
        self,
        table: PendingCalls,
        invocation_id: str,
        future: asyncio.Future[Raw | UnsetType],
        function_id: str,
        deadline: float,
    ) -> None:
        self.table = table
        self.invocation_id = invocation_id
        self.future = future
        self.function_id = function_id
        self.deadline = deadline
        self.generation = NOT_SENT

    def sent(self, generation: int) -> bool:
        """The frame goes out on socket ``generation``; False if the caller already gave up."""
        if self.table._calls.get(self.invocation_id) is not self:
            return False
        self.generation = generation
        return True

    def dropped(self) -> None:
        """Pushed out of the full offline queue: the call fails."""
        self.table.fail(
            self.invocation_id, INVOCATION_STOPPED, "dropped from the full offline queue"
        )


class PendingCalls:
    """The table of calls this worker is waiting on."""

    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}
        self._sweeper: asyncio.Task[None] | None = None
        # Ids are a random UUIDv4 whose last 48 bits count up: still canonical v4 strings,
        # unique per worker, and ten times cheaper than uuid4() per call.
        self._id_prefix = str(uuid.uuid4())[:24]
        self._id_counter = itertools.count(random.getrandbits(47))

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, invocation_id: object) -> bool:
        return invocation_id in self._calls

    def add(self, function_id: str, timeout_s: float) -> Call:
        """Register a call under a fresh id; its future gets the raw ``result`` or an
        :class:`InvocationError`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Raw | UnsetType] = loop.create_future()
        # A canonical lowercase UUIDv4 string (see __init__), made inline: one per call.
        invocation_id = f"{self._id_prefix}{next(self._id_counter) & 0xFFFFFFFFFFFF:012x}"
        call = Call(self, invocation_id, future, function_id, _now() + timeout_s)
        self._calls[invocation_id] = call
        if self._sweeper is None:
            self._sweeper = loop.create_task(self._sweep())
        return call

    def discard(self, invocation_id: str) -> None:
        """Forget a call (its frame could not be sent, or the caller gave up)."""
        self._calls.pop(invocation_id, None)

    def resolve(self, message: InvocationResult, generation: int = 0) -> None:
        """Settle the call ``message`` answers; a late or unknown result is ignored.

        ``generation`` (the socket it came on) is unused: the signature of the session's frame
        handlers, so results go straight here."""
        call = self._calls.pop(message.invocation_id, None)
        if call is None or call.future.done():
            return
        error = message.error
        if error is None:
            call.future.set_result(message.result)
            return
        call.future.set_exception(
            invocation_error(
                error, function_id=message.function_id, invocation_id=message.invocation_id
            )
        )

    def fail_generation(self, generation: int) -> None:
        """Fail every call written on a connection that has just dropped."""
        lost = [iid for iid, call in self._calls.items() if call.generation == generation]
        for invocation_id in lost:
            self._fail(invocation_id, INVOCATION_STOPPED, "Invocation stopped (connection lost)")

    def fail_all(self, code: str, message: str) -> None:
        """Fail every pending call (worker shutdown, fatal rejection)."""
        for invocation_id in list(self._calls):
            self._fail(invocation_id, code, message)

    async def stop(self) -> None:
        """Stop the timeout sweep."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    def fail(self, invocation_id: str, code: str, message: str) -> None:
        """Fail one call."""
        self._fail(invocation_id, code, message)

    def _fail(self, invocation_id: str, code: str, message: str) -> None:
        call = self._calls.pop(invocation_id, None)
        if call is None or call.future.done():
            return
        call.future.set_exception(
            InvocationError(
                code, message, function_id=call.function_id, invocation_id=invocation_id
            )
        )

    async def _sweep(self) -> None:
        try:
            while self._calls:
                await asyncio.sleep(SWEEP_INTERVAL_S)
                now = _now()
                expired = [iid for iid, call in self._calls.items() if call.deadline <= now]
                for invocation_id in expired:
                    call = self._calls[invocation_id]
                    self._fail(
                        invocation_id,
                        TIMEOUT,
                        f"Invocation of {call.function_id} timed out",
                    )
        finally:
            if self._sweeper is asyncio.current_task():
                self._sweeper = None
