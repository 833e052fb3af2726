"""``iii status``: what a running engine serves, as tables or (``--json``) one JSON object.

The tables: workers (built-ins and connected workers, this command's own connection left out),
functions, trigger types, and triggers (HTTP routes first: type, a config summary such as
``POST /math/add``, the function and its worker). ``--json`` prints the same rows under
``engine``, ``workers``, ``functions``, ``trigger_types`` and ``triggers``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from iii_engine.cli._rawclient import EngineUnreachable, RawClient, WebSocketFailure
from iii_engine.cli.info import table
from iii_engine.cli.views import trigger_summary
from iii_sdk.errors import InvocationError

__all__ = ["collect", "status"]


async def collect(client: RawClient) -> dict[str, Any]:
    """Every row ``iii status`` shows, from the engine's discovery functions."""
    workers = (await client.call("engine::workers::list", {})) or {}
    functions = (await client.call("engine::functions::list", {})) or {}
    types = (await client.call("engine::triggers::list", {})) or {}
    triggers = (await client.call("engine::registered-triggers::list", {})) or {}
    rows = [
        {**t, "summary": trigger_summary(str(t.get("trigger_type")), t.get("config"))}
        for t in triggers.get("registered_triggers", [])
    ]
    rows.sort(key=lambda t: (t.get("trigger_type") != "http", t["summary"], t.get("id") or ""))
    return {
        "engine": client.url,
        "workers": [
            w
            for w in workers.get("workers", [])
            if w.get("name") != client.name  # this command's own connection
        ],
        "functions": functions.get("functions", []),
        "trigger_types": types.get("triggers", []),
        "triggers": rows,
    }


async def status(url: str, timeout_s: float, *, as_json: bool = False) -> int:
    """Print what the engine at ``url`` serves; 1 when it cannot be reached."""
    client = RawClient(
        url, timeout_s=timeout_s, name="iii-cli:status", connect_timeout_s=min(timeout_s, 1.5)
    )
    try:
        await client.connect()
        data = await collect(client)
    except EngineUnreachable as exc:
        print(f"Error: no engine answering at {url}: {exc.reason}", file=sys.stderr)
        return 1
    except (TimeoutError, WebSocketFailure) as exc:
        print(f"Error: no engine answering at {url}: {exc or 'timeout'}", file=sys.stderr)
        return 1
    except InvocationError as exc:
        print(f"Error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await client.close()
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"engine at {url}\n")
    worker_rows = [
        (
            w.get("name") or "-",
            w.get("runtime") or "-",
            w.get("status"),
            w.get("function_count"),
            w.get("namespace"),
            w.get("id"),
        )
        for w in data["workers"]
    ]
    print(table(("WORKER", "RUNTIME", "STATUS", "FUNCTIONS", "NAMESPACE", "ID"), worker_rows))
    function_rows = [
        (f.get("function_id"), f.get("worker_name"), f.get("description") or "")
        for f in data["functions"]
    ]
    print()
    print(table(("FUNCTION", "WORKER", "DESCRIPTION"), function_rows))
    type_rows = [
        (t.get("id"), t.get("worker_name"), t.get("description") or "")
        for t in data["trigger_types"]
    ]
    print()
    print(table(("TRIGGER TYPE", "WORKER", "DESCRIPTION"), type_rows))
    print()
    if not data["triggers"]:
        print("TRIGGERS: none registered")
        return 0
    trigger_rows = [
        (t.get("trigger_type"), t["summary"], t.get("function_id"), t.get("worker_name") or "-")
        for t in data["triggers"]
    ]
    print(table(("TRIGGER", "CONFIG", "FUNCTION", "WORKER"), trigger_rows))
    return 0
