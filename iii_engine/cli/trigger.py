"""``iii trigger FUNCTION [KEY=VALUE ...]``: invoke one function from the shell.

Payload rules: each ``KEY=VALUE`` value is parsed as JSON when it is valid JSON (``a=2`` -> ``2``,
``x=true``, ``l=[1,2]``) and kept as a string otherwise (``name=alice``, ``v=`` -> ``""``).
Without arguments the payload is ``{}``; ``--json`` alone is sent verbatim; with both, ``--json``
must be an object and the pairs override its keys. The result is printed as pretty JSON.

Before sending, the payload is checked against the function's declared request schema
(``--no-validate`` skips it). An engine that cannot be reached fails within
``--connect-timeout-ms`` naming the URL; a function that does not answer within ``--timeout-ms``
is a different error. A worker-side error prints ``code: message`` and its stack trace as lines
(``--json-errors``: upstream's JSON body).

Exit codes: 0 success, 1 remote error / timeout / bad payload, 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, Final

import msgspec

from iii_engine.cli._rawclient import (
    EngineUnreachable,
    InvocationTimeout,
    RawClient,
    WebSocketFailure,
)
from iii_engine.cli.trigger_checks import (
    function_info,
    function_suggestion,
    render_error,
    schema_problems,
)
from iii_sdk.errors import InvocationError

__all__ = [
    "PayloadError",
    "build_parser",
    "build_payload",
    "main",
    "render_function_help",
]

_HELP_TIMEOUT_MS: Final = 5000
_EPILOG: Final = """\
payload:
  KEY=VALUE       the value is JSON when it parses as JSON, else a string:
                  a=2 -> 2, x=true -> true, l=[1,2] -> [1, 2], name=alice -> "alice", v= -> ""
  --json JSON     the whole payload (any JSON value); combined with KEY=VALUE pairs it must be
                  an object, and the pairs override its keys
  (nothing)       {}

examples:
  iii trigger math::add a=2 b=3
  iii trigger users::create --json '{"name": "alice"}' admin=true
  iii trigger math::add --help      describe a function registered in the engine
"""


class PayloadError(ValueError):
    """The command-line arguments do not form a valid payload."""


def build_payload(pairs: list[str], json_text: str | None) -> Any:
    """Build the invocation payload from ``KEY=VALUE`` tokens and an optional ``--json`` value."""
    base: Any = {}
    if json_text is not None:
        try:
            base = msgspec.json.decode(json_text)
        except msgspec.DecodeError as exc:
            raise PayloadError(f"--json: invalid JSON `{json_text}`") from exc
        if not pairs:
            return base
        if not isinstance(base, dict):
            raise PayloadError("--json must be an object when combined with kv pairs")
    for token in pairs:
        key, sep, raw = token.partition("=")
        if not sep:
            raise PayloadError(f"expected key=value, got `{token}`")
        if not key:
            raise PayloadError(f"empty key in `{token}`")
        base[key] = _json_or_string(raw)
    return base


def _json_or_string(raw: str) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def _timeout(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the timeout must not be negative")
    return value


def build_parser(prog: str = "iii trigger") -> argparse.ArgumentParser:
    """The argument parser of ``iii trigger`` (its own ``-h/--help`` handles function help)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Invoke a function registered in a running iii engine and print its result.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
        allow_abbrev=False,
    )
    parser.add_argument("function", nargs="?", metavar="FUNCTION", help="function id, e.g. a::b")
    parser.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="payload fields")
    parser.add_argument("--json", metavar="JSON", help="payload as JSON")
    parser.add_argument("--address", default="localhost", help="engine host (default localhost)")
    parser.add_argument("--port", type=_port, default=49134, help="engine port (default 49134)")
    parser.add_argument(
        "--timeout-ms", type=_timeout, default=30000, help="deadline in ms (default 30000)"
    )
    parser.add_argument(
        "--connect-timeout-ms",
        type=_timeout,
        default=1500,
        help="give up connecting after this long (default 1500)",
    )
    parser.add_argument("-n", "--namespace", help="namespace of the function")
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="send without checking the payload against the function's request schema",
    )
    parser.add_argument(
        "--json-errors", action="store_true", help="print a remote error as a JSON object"
    )
    parser.add_argument(
        "-h", "--help", action="store_true", help="show help (of FUNCTION when given)"
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str = "iii trigger") -> int:
    """Run ``iii trigger`` with ``argv`` (without the command name); return the exit code."""
    parser = build_parser(prog)
    args = parser.parse_intermixed_args(sys.argv[1:] if argv is None else argv)
    url = f"ws://{args.address}:{args.port}"
    if args.help and args.function is None:
        parser.print_help()
        return 0
    if args.function is None:
        parser.error("the following arguments are required: FUNCTION")
    try:
        if args.help:
            return asyncio.run(_function_help(parser, url, args))
        payload = build_payload(args.pairs, args.json)
        return asyncio.run(_invoke(url, args.function, payload, args))
    except PayloadError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


async def _invoke(url: str, function_id: str, payload: Any, args: Any) -> int:
    client = RawClient(
        url, timeout_s=args.timeout_ms / 1000, connect_timeout_s=args.connect_timeout_ms / 1000
    )
    namespace: str | None = args.namespace
    try:
        await client.connect()
        if not args.no_validate:
            info = await function_info(client, function_id, namespace)
            if info is None:
                return _fail(await _not_found(client, function_id, namespace))
            problems = schema_problems(info.get("request_schema"), payload)
            if problems:
                return _fail(
                    f"invalid_payload: {'; '.join(problems)} (checked against the request "
                    f"schema of {function_id}: `iii trigger {function_id} --help` describes it; "
                    "--no-validate sends anyway)"
                )
        result = await client.call(function_id, payload, namespace=namespace)
    except InvocationError as exc:
        if exc.code == "function_not_found" and exc.function_id == function_id:
            hint = await function_suggestion(client, function_id)
            return _fail(f"{exc.code}: {exc.message}{hint}")
        return _fail(render_error(exc, as_json=args.json_errors))
    except EngineUnreachable as exc:
        return _fail(_unreachable(url, exc))
    except InvocationTimeout:
        return _fail(
            f"timeout: {function_id} did not answer within {args.timeout_ms} ms (the engine at "
            f"{url} is up; --timeout-ms waits longer)"
        )
    except WebSocketFailure as exc:
        return _fail(f"WebSocket error: {exc}")
    finally:
        await client.close()
    if result is not None:
        print(_pretty(result))
    return 0


async def _not_found(client: RawClient, function_id: str, namespace: str | None) -> str:
    where = f" in namespace {namespace!r}" if namespace else ""
    hint = await function_suggestion(client, function_id)
    return (
        f"function_not_found: {function_id!r} is not registered{where}{hint}; "
        "`iii status` lists the registered functions"
    )


def _unreachable(url: str, exc: EngineUnreachable) -> str:
    return (
        f"cannot connect to the engine at {url}: {exc.reason} (is it running? start it with "
        "`iii`; --address/--port point elsewhere)"
    )


async def _function_help(parser: argparse.ArgumentParser, url: str, args: Any) -> int:
    request: dict[str, Any] = {"function_id": args.function}
    if args.namespace:
        request["namespace"] = args.namespace
    client = RawClient(
        url,
        timeout_s=min(args.timeout_ms, _HELP_TIMEOUT_MS) / 1000,
        connect_timeout_s=args.connect_timeout_ms / 1000,
    )
    try:
        await client.connect()
        info = await client.call("engine::functions::info", request)
    except InvocationError as exc:
        if exc.code in ("NOT_FOUND", "function_not_found"):
            return _fail(await _not_found(client, args.function, args.namespace))
        return _fail(f"{exc.code}: {exc.message}")
    except (EngineUnreachable, InvocationTimeout, WebSocketFailure) as exc:
        reason = exc.reason if isinstance(exc, EngineUnreachable) else str(exc) or "no answer"
        print(
            f"Warning: cannot reach the engine at {url} ({reason}); showing the static help.",
            file=sys.stderr,
        )
        parser.print_help()
        return 0
    finally:
        await client.close()
    print(render_function_help(info if isinstance(info, dict) else {}, args.function))
    return 0


def render_function_help(info: dict[str, Any], function_id: str) -> str:
    """Describe a function from its ``engine::functions::info`` record: text plus a table."""
    lines = [f"{function_id}" + (f"  ({info['worker_name']})" if info.get("worker_name") else "")]
    if info.get("description"):
        lines += ["", str(info["description"])]
    lines += ["", f"usage: iii trigger {function_id} [KEY=VALUE ...] [--json JSON]"]
    schema = _resolve_ref(info.get("request_schema"), info.get("request_schema"))
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        lines += ["", "parameters: (no request schema registered)"]
        return "\n".join(lines)
    assert isinstance(schema, dict)
    required = set(schema.get("required") or [])
    rows = [("NAME", "TYPE", "REQUIRED", "DESCRIPTION")]
    for name, raw in properties.items():
        resolved = _resolve_ref(raw, info.get("request_schema"))
        prop = resolved if isinstance(resolved, dict) else {}
        rows.append(
            (
                str(name),
                _type_name(prop),
                "yes" if name in required else "no",
                str(prop.get("description", "")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines += ["", "parameters:"]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(("  " + "  ".join([*cells, row[3]])).rstrip())
    return "\n".join(lines)


def _resolve_ref(schema: Any, root: Any, depth: int = 0) -> Any:
    """Follow a local ``$ref`` (``#/$defs/Name``), as msgspec-generated schemas use."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > 16:
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    return _resolve_ref(target, root, depth + 1) if target is not None else schema


def _type_name(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    if kind is None and ("anyOf" in prop or "oneOf" in prop):
        options = prop.get("anyOf") or prop.get("oneOf") or []
        return "|".join(_type_name(o) for o in options if isinstance(o, dict)) or "any"
    return str(kind) if kind is not None else "any"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _fail(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
