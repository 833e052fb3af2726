"""The ``enqueue`` action: calls go through whichever worker provides ``engine::queue::enqueue``.

The engine generates the receipt id and answers the caller with ``{"messageReceiptId": R}`` once
the queue accepted the job, or ``enqueue_error`` (docs/protocol.md section 3.3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, Raw, UnsetType

from iii_engine.core.registry import DEFAULT_NAMESPACE
from iii_sdk import errors
from iii_sdk.errors import InvocationError
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

__all__ = ["ENQUEUE_FUNCTION", "enqueue"]

ENQUEUE_FUNCTION = "engine::queue::enqueue"


async def enqueue(
    invoke: Callable[[str, Any], Awaitable[Any]],
    conn: Peer,
    msg: InvokeFunction,
    queue: str,
    namespace: str,
) -> None:
    """Serve ``action: {"type": "enqueue"}``: hand the call to ``engine::queue::enqueue``.

    ``invoke(function_id, payload)`` is the router's in-process call.
    """
    receipt = new_id()
    request: dict[str, Any] = {
        "queue": queue,
        "function_id": msg.function_id,
        "data": from_raw(msg.data),
        "messageReceiptId": receipt,
        "traceparent": msg.traceparent,
        "baggage": msg.baggage,
    }
    if namespace != DEFAULT_NAMESPACE:
        request["namespace"] = namespace
    result: Raw | UnsetType = UNSET
    error: ErrorBody | None = None
    try:
        await invoke(ENQUEUE_FUNCTION, request)
        result = to_raw({"messageReceiptId": receipt})
    except InvocationError as exc:
        message = f"Failed to enqueue to queue '{queue}': {exc.message}"
        if exc.code == errors.FUNCTION_NOT_FOUND:
            message = (
                f"Cannot enqueue to queue '{queue}': no worker provides "
                f"{ENQUEUE_FUNCTION}. Add the iii-queue worker to config.yaml "
                "(upstream: `iii worker add queue`)."
            )
        error = ErrorBody(code=errors.ENQUEUE_ERROR, message=message)
    except Exception as exc:
        error = ErrorBody(code=errors.ENQUEUE_ERROR, message=f"Failed to enqueue: {exc}")
    if msg.invocation_id is not None:
        await conn.send(
            encode(
                InvocationResult(
                    invocation_id=msg.invocation_id,
                    function_id=msg.function_id,
                    result=result,
                    error=error,
                )
            )
        )
