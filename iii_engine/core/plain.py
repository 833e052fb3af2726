"""The router's in-process paths while nobody traces (:meth:`Router.invoke
<iii_engine.core.router.Router.invoke>` and ``invoke_void``), beside :mod:`iii_engine.core.traced`.

The router picks the path once per call and hands back its coroutine, so an engine-made call
(an HTTP request, a trigger firing) is resumed through one frame here, not one per layer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from msgspec import UNSET

from iii_engine.core.invocation import not_found_message
from iii_engine.core.local import run_void
from iii_engine.core.registry import FunctionRegistry
from iii_engine.core.traced import InvokeRemote, Spawn
from iii_sdk import errors
from iii_sdk.errors import InvocationError
from iii_sdk.protocol import InvokeFunction, encode, from_raw, new_id, to_raw

__all__ = ["invoke", "invoke_void"]

log = logging.getLogger("iii.router")


async def invoke(
    functions: FunctionRegistry,
    invoke_remote: InvokeRemote,
    function_id: str,
    payload: Any,
    metadata: Any,
    namespace: str,
    timeout_ms: float | None,
) -> Any:
    """Invoke a function from inside the engine and return its decoded result."""
    entry = functions.get(namespace, function_id)
    if entry is None:
        raise InvocationError(
            errors.FUNCTION_NOT_FOUND,
            not_found_message(functions, function_id, namespace),
            function_id=function_id,
        )
    if entry.handler is not None:
        if timeout_ms is None:
            return await entry.handler(payload, metadata)
        try:
            async with asyncio.timeout(timeout_ms / 1000):
                return await entry.handler(payload, metadata)
        except TimeoutError:
            raise InvocationError(errors.TIMEOUT, "Invocation timed out") from None
    result = await invoke_remote(
        entry, to_raw(payload), UNSET if metadata is None else to_raw(metadata), timeout_ms
    )
    return from_raw(result)


def invoke_void(
    functions: FunctionRegistry,
    spawn: Spawn,
    function_id: str,
    payload: Any,
    metadata: Any,
    namespace: str,
) -> None:
    """Fire and forget: a remote function's frame is queued on its executor's socket (its
    answer is dropped on arrival); an in-process one runs on a task."""
    entry = functions.get(namespace, function_id)
    if entry is None:
        log.debug("void invocation of %s: not found in %s", function_id, namespace)
        return
    if entry.owner is None:
        spawn(run_void(entry, payload, metadata))
        return
    entry.owner.post(
        encode(
            InvokeFunction(
                invocation_id=new_id(),
                function_id=entry.delivered_id,
                data=to_raw(payload),
                metadata=UNSET if metadata is None else to_raw(metadata),
            )
        )
    )
