"""Mode A rendering of handler results, middleware answers and error envelopes."""

from __future__ import annotations

import json

import msgspec
import pytest

from plugins.http.config import HttpConfig, decode_trigger_config
from plugins.http.rendering import (
    condition_not_met,
    error_response,
    middleware_response,
    not_found,
    parse_headers,
    render_result,
    request_timeout,
)


def _body(response: object) -> bytes:
    body = response.body  # type: ignore[attr-defined]
    assert isinstance(body, bytes)
    return body


def test_json_body_with_custom_status() -> None:
    response = render_result({"status_code": 201, "body": {"ok": True, "n": [1, 2]}})
    assert response.status == 201
    assert response.headers["Content-Type"] == "application/json"
    assert _body(response) == b'{"ok":true,"n":[1,2]}'


def test_string_body_is_raw_only_with_a_handler_content_type() -> None:
    xml = '<?xml version="1.0"?><a/>'
    raw = render_result({"headers": {"Content-Type": "text/xml"}, "body": xml})
    assert raw.headers["Content-Type"] == "text/xml"
    assert _body(raw) == xml.encode()
    quoted = render_result({"body": "abc"})
    assert _body(quoted) == b'"abc"'
    assert quoted.headers["Content-Type"] == "application/json"
    verbatim = render_result({"headers": {"content-type": "application/json"}, "body": "abc"})
    assert _body(verbatim) == b"abc"


def test_content_type_with_null_or_structured_body() -> None:
    empty = render_result({"headers": {"Content-Type": "text/plain"}, "body": None})
    assert _body(empty) == b""
    text = render_result({"headers": {"Content-Type": "text/plain"}, "body": {"a": 1}})
    assert _body(text) == b'{"a":1}'
    assert text.headers["Content-Type"] == "text/plain"


def test_status_code_alias_of_the_official_sdk_model() -> None:
    assert render_result({"statusCode": 201, "body": {}}).status == 201
    assert render_result({"status_code": 202, "statusCode": 201}).status == 202


def test_lenient_status_body_and_non_object_results() -> None:
    assert render_result({"status_code": "201"}).status == 200
    assert render_result({"status_code": 42}).status == 200
    assert render_result({"status_code": True}).status == 200
    missing = render_result({"status_code": 202})
    assert missing.status == 202
    assert _body(missing) == b"{}"
    bare = render_result("just a string")
    assert bare.status == 200
    assert _body(bare) == b"{}"


def test_headers_as_list_and_invalid_entries_dropped() -> None:
    headers = parse_headers(["X-One: 1", "Set-Cookie: a=1", "Set-Cookie: b=2", "nocolon", 5])
    assert headers["X-One"] == "1"
    assert headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert "nocolon" not in headers
    mapped = parse_headers({"X-A": "v", "X-Num": 3, "Bad Name": "x", "X-Evil": "a\r\nb"})
    assert dict(mapped) == {"X-A": "v"}


def test_middleware_response_is_always_json() -> None:
    response = middleware_response({"status_code": 401, "body": "denied", "headers": {"X": "y"}})
    assert response.status == 401
    assert _body(response) == b'"denied"'
    assert response.headers["X"] == "y"
    assert response.headers["Content-Type"] == "application/json"
    assert middleware_response(None).status == 200


def test_error_envelopes() -> None:
    assert json.loads(_body(not_found())) == {
        "error": {"code": "NOT_FOUND", "message": "Not Found"}
    }
    assert not_found().status == 404
    failed = error_response("boom", "it broke")
    error = json.loads(_body(failed))["error"]
    assert failed.status == 500
    assert error["code"] == "boom" and error["message"] == "it broke"
    int(error["error_id"], 16)
    skipped = condition_not_met()
    assert skipped.status == 422
    assert json.loads(_body(skipped)) == {
        "error": {"code": "CONDITION_NOT_MET", "message": "Request condition not met"},
        "skipped": True,
    }
    timeout = request_timeout()
    assert timeout.status == 504 and timeout.body is None


def test_config_defaults_and_unknown_keys() -> None:
    config = msgspec.convert({}, HttpConfig)
    assert (config.port, config.host, config.default_timeout) == (3111, "0.0.0.0", 30000)
    assert config.concurrency_request_limit == 1024 and config.cors is None
    with pytest.raises(msgspec.ValidationError, match="unknown"):
        msgspec.convert({"prot": 1}, HttpConfig)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"cors": {"allowed_origins": [], "extra": 1}}, HttpConfig)


def test_trigger_config_requires_api_path_and_ignores_extras() -> None:
    with pytest.raises(ValueError, match="api_path is required for http triggers"):
        decode_trigger_config({"http_method": "GET"})
    cfg = decode_trigger_config({"api_path": "/x", "http_method": "post", "description": "d"})
    assert cfg.api_path == "/x" and cfg.http_method == "post"
