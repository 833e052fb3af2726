"""``preHandler`` middleware: functions that let a request through or answer it themselves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from iii_sdk.errors import InvocationError
from iii_sdk.plugin import TriggerContext
from plugins.http.rendering import error_response, middleware_response, middleware_timeout

__all__ = ["run_middleware"]

log = logging.getLogger("iii.http")


async def run_middleware(
    ctx: TriggerContext,
    function_ids: Sequence[str],
    request_input: dict[str, Any],
    timeout_s: float,
    namespace: str = "default",
) -> web.Response | None:
    """Run middleware in order; the response of the first that answers, or ``None``.

    ``{"action": "respond", "response": {...}}`` short-circuits; ``continue`` (or anything
    unrecognised, with a warning) proceeds. A failing middleware answers 500 with its error code,
    a slow one 504 ``MIDDLEWARE_TIMEOUT``.
    """
    for function_id in function_ids:
        try:
            async with asyncio.timeout(timeout_s or None):
                result = await ctx.invoke(function_id, request_input, namespace=namespace)
        except TimeoutError:
            return middleware_timeout()
        except InvocationError as exc:
            return error_response(exc.code, exc.message)
        action = result.get("action") if isinstance(result, dict) else None
        if action == "respond":
            return middleware_response(result.get("response"))
        if action != "continue":
            log.warning("iii-http: middleware %s returned no valid action; continuing", function_id)
    return None
