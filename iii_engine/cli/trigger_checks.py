"""What ``iii trigger`` checks and says around an invocation.

- :func:`schema_problems`: the payload checked against the function's declared request schema
  (JSON Schema, validated with ``jsonschema``), one ``path: problem`` line per error, before
  anything is sent (``--no-validate`` skips it);
- :func:`function_suggestion`: "did you mean math::add?" for an unknown function id;
- :func:`render_error`: a worker-side error as ``Error: code: message`` and its stack trace as
  real lines (or upstream's JSON body with ``--json-errors``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from iii_engine.cli._rawclient import RawClient
from iii_engine.config.suggest import close_match
from iii_sdk.errors import InvocationError

if TYPE_CHECKING:
    import jsonschema

__all__ = ["function_info", "function_suggestion", "render_error", "schema_problems"]

_NOT_FOUND = ("NOT_FOUND", "function_not_found")
_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)


async def function_info(
    client: RawClient, function_id: str, namespace: str | None
) -> dict[str, Any] | None:
    """The function's ``engine::functions::info`` record, ``None`` when it is not registered."""
    request: dict[str, Any] = {"function_id": function_id}
    if namespace:
        request["namespace"] = namespace
    try:
        info = await client.call("engine::functions::info", request)
    except InvocationError as exc:
        if exc.code in _NOT_FOUND:
            return None
        raise
    return info if isinstance(info, dict) else {}


async def function_suggestion(client: RawClient, function_id: str) -> str:
    """``" (did you mean X?)"`` from the engine's registered functions, or ``""``."""
    try:
        listing = await client.call("engine::functions::list", {})
    except (InvocationError, TimeoutError, ConnectionError):
        return ""
    rows = listing.get("functions", []) if isinstance(listing, dict) else []
    ids = [str(row.get("function_id")) for row in rows if isinstance(row, dict)]
    match = close_match(function_id, ids)
    return f" (did you mean {match}?)" if match else ""


def schema_problems(schema: Any, payload: Any) -> list[str]:
    """Every way ``payload`` breaks ``schema``: ``["b: required", "a: expected integer, ..."]``.

    An absent or unusable schema yields no problems (nothing is declared, nothing is checked),
    and so does the legacy ``{name, type, body: [...]}`` format of the official Python SDK.
    """
    if not isinstance(schema, dict) or not schema or isinstance(schema.get("body"), list):
        return []  # nothing declared, or the official Python SDK's legacy format (not a schema)
    import jsonschema  # only when there is a schema to check (it costs ~25 ms to import)

    try:
        validator_type = jsonschema.validators.validator_for(schema)
        validator_type.check_schema(schema)
        validator = validator_type(schema)
        errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    except Exception:  # an invalid schema, an unresolvable $ref ...
        return []  # a schema the function got wrong is not the caller's problem
    return [_describe(error) for error in errors]


def _where(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "payload"


def _json_type(value: Any) -> str:
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _describe(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    schema: Any = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    instance: Any = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        required: Any = error.validator_value
        missing = [k for k in required if k not in instance]
        name = missing[0] if missing else error.message
        extra = [str(k) for k in instance if k not in known and not str(k).startswith("_")]
        typo = close_match(str(name), extra)
        hint = f" (did you mean {name} instead of {typo}?)" if typo else ""
        return f"{_where([*path, name])}: required{hint}"
    if error.validator == "additionalProperties" and instance:
        extra = [str(k) for k in instance if k not in known]
        return (
            "; ".join(f"{_where([*path, k])}: unknown key{_suggest(k, known)}" for k in extra)
            or f"{_where(path)}: {error.message}"
        )
    if error.validator == "type":
        expected = error.validator_value
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"{_where(path)}: expected {wanted}, got {_json_type(error.instance)}"
    return f"{_where(path)}: {error.message}"


def _suggest(key: str, known: Any) -> str:
    match = close_match(key, [str(k) for k in known])
    return f" (did you mean {match}?)" if match else ""


def render_error(exc: InvocationError, *, as_json: bool) -> str:
    """The text after ``Error: `` for a worker-side error."""
    if as_json:
        body = {"code": exc.code, "message": exc.message, "stacktrace": exc.stacktrace}
        return json.dumps(body, indent=2, ensure_ascii=False)
    text = f"{exc.code}: {exc.message}"
    trace = (exc.stacktrace or "").rstrip()
    if trace:
        text += "\n" + "\n".join(f"  {line}" for line in trace.splitlines())
    return text
