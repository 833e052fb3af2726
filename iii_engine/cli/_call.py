"""One function call to a running engine for a CLI subcommand, with its error messages.

::

    try:
        info = await call_engine(url, "console::info", {}, timeout_s=5, name="iii-cli:console",
                                 provider="iii-console")
    except CallFailed:
        return 1   # the error has been printed on stderr
"""

from __future__ import annotations

import sys
from typing import Any

from iii_sdk.errors import InvocationError

__all__ = ["CallFailed", "call_engine"]


class CallFailed(Exception):
    """The call failed and its error has been printed on stderr (the command exits 1)."""


async def call_engine(
    url: str,
    function_id: str,
    payload: Any,
    *,
    timeout_s: float,
    name: str,
    provider: str | None = None,
) -> Any:
    """Connect to ``url`` as worker ``name``, call ``function_id`` once, close; its result.

    An unreachable engine prints ``Error: no engine answering at <url>`` (a failing socket adds
    its reason); a remote error prints ``Error: <code>: <message>``, or, for
    ``function_not_found`` when ``provider`` is given, ``Error: the engine at <url> runs no
    <provider>``. Both then raise :class:`CallFailed`.
    """
    # Imported here: the client pulls in aiohttp's client, which `iii` alone does not need.
    from iii_engine.cli._rawclient import EngineUnreachable, RawClient, WebSocketFailure

    client = RawClient(url, timeout_s=timeout_s, name=name)
    try:
        await client.connect()
        return await client.call(function_id, payload)
    except (EngineUnreachable, WebSocketFailure) as exc:
        detail = "" if isinstance(exc, EngineUnreachable) else f": {exc}"
        print(f"Error: no engine answering at {url}{detail}", file=sys.stderr)
    except InvocationError as exc:
        if provider is not None and exc.code == "function_not_found":
            print(f"Error: the engine at {url} runs no {provider}", file=sys.stderr)
        else:
            print(f"Error: {exc.code}: {exc.message}", file=sys.stderr)
    finally:
        await client.close()
    raise CallFailed
