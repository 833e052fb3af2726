"""Wire schema details: optional and unknown fields, nulls, actions, auth, error bodies."""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
import pytest

from iii_sdk import protocol as p
from iii_sdk.errors import ProtocolError

W = "0b7c1a52-7c1e-4a7e-9d0c-2f1f4f3b9e11"
INV = "9f3c8b7a-6d5e-4f4a-9b3c-2d1e0f9a8b7c"


def obj(message: p.Message) -> dict[str, Any]:
    decoded = json.loads(p.encode(message))
    assert isinstance(decoded, dict)
    return decoded


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (p.RegisterFunction(id="f"), {"type": "registerfunction", "id": "f"}),
        (p.RegisterService(id="s"), {"type": "registerservice", "id": "s"}),
        (
            p.RegisterTriggerType(id="t", description=""),
            {"type": "registertriggertype", "id": "t", "description": ""},
        ),
        (p.UnregisterTrigger(id="x"), {"type": "unregistertrigger", "id": "x"}),
        (
            p.TriggerRegistrationResult(id="x", trigger_type="t", function_id="f"),
            {
                "type": "triggerregistrationresult",
                "id": "x",
                "trigger_type": "t",
                "function_id": "f",
            },
        ),
        (
            p.InvocationResult(invocation_id=INV, function_id="f"),
            {"type": "invocationresult", "invocation_id": INV, "function_id": "f"},
        ),
        (p.WorkerRegistered(worker_id=W), {"type": "workerregistered", "worker_id": W}),
        (p.Reattach(previous_worker_id=W), {"type": "reattach", "previous_worker_id": W}),
        (
            p.RegistrationRejectedFrame(code="C", namespace="default", owner_worker_id=""),
            {
                "type": "registrationrejected",
                "code": "C",
                "namespace": "default",
                "owner_worker_id": "",
            },
        ),
        (p.ErrorBody("c", "m"), {"code": "c", "message": "m"}),
        (p.HttpInvocationRef(url="http://x"), {"url": "http://x"}),
    ],
)
def test_optional_fields_are_omitted_on_output(
    message: msgspec.Struct, expected: dict[str, Any]
) -> None:
    assert json.loads(msgspec.json.encode(message)) == expected


def test_required_any_fields_written_when_null() -> None:
    invoke = p.InvokeFunction(function_id="f", data=p.NULL)
    assert obj(invoke) == {"type": "invokefunction", "function_id": "f", "data": None}
    trigger = p.RegisterTrigger(id="x", trigger_type="t", function_id="f", config=p.NULL)
    assert obj(trigger)["config"] is None


def test_invokefunction_from_engine_always_carries_invocation_id() -> None:
    invoke = p.InvokeFunction(invocation_id=INV, function_id="f", data=p.NULL)
    assert json.loads(p.encode(invoke))["invocation_id"] == INV


@pytest.mark.parametrize(
    "frame",
    [
        {
            "type": "registerfunction",
            "id": "f",
            "description": None,
            "request_format": None,
            "metadata": None,
            "invocation": None,
        },
        {"type": "registertriggertype", "id": "t", "description": "d", "namespace": None},
        {
            "type": "registertrigger",
            "id": "x",
            "trigger_type": "t",
            "function_id": "f",
            "config": None,
            "namespace": None,
            "trigger_namespace": None,
            "metadata": None,
        },
        {
            "type": "invokefunction",
            "invocation_id": None,
            "function_id": "f",
            "data": None,
            "action": None,
            "namespace": None,
            "traceparent": None,
            "baggage": None,
        },
        {"type": "invocationresult", "invocation_id": INV, "function_id": "f", "error": None},
        {"type": "workerregistered", "worker_id": W, "reattach_token": None},
        {"type": "reattach", "previous_worker_id": W, "reattach_token": None},
        {
            "type": "triggerregistrationresult",
            "id": "x",
            "trigger_type": "t",
            "function_id": "f",
            "error": None,
        },
        {"type": "registerservice", "id": "s", "name": None, "parent_service_id": None},
    ],
)
def test_null_equals_absent_on_input(frame: dict[str, Any]) -> None:
    with_nulls = p.decode(json.dumps(frame))
    without = p.decode(json.dumps({k: v for k, v in frame.items() if v is not None}))
    assert type(with_nulls) is type(without)
    for field in with_nulls.__struct_fields__:
        a, b = getattr(with_nulls, field), getattr(without, field)
        if isinstance(a, msgspec.Raw) or a is p.UNSET:
            assert p.is_null(a) == p.is_null(b), field
            assert p.from_raw(a) == p.from_raw(b), field
        else:
            assert a == b, field


def test_unknown_fields_are_ignored() -> None:
    message = p.decode(
        '{"type":"registerfunction","id":"f","surprise":{"deep":[1,2]},"x":null,"version":3}'
    )
    assert isinstance(message, p.RegisterFunction)
    assert obj(message) == {"type": "registerfunction", "id": "f"}
    result = p.decode(
        f'{{"type":"invocationresult","invocation_id":"{INV}","function_id":"f","extra":1,'
        '"error":{"code":"c","message":"m","details":{"x":1}}}'
    )
    assert isinstance(result, p.InvocationResult)
    assert result.error == p.ErrorBody("c", "m")


def test_missing_data_and_config_read_as_unset() -> None:
    invoke = p.decode('{"type":"invokefunction","function_id":"f"}')
    assert isinstance(invoke, p.InvokeFunction)
    assert invoke.data is p.UNSET
    assert invoke.invocation_id is None
    assert p.is_null(invoke.data)
    assert p.from_raw(invoke.data) is None
    trigger = p.decode('{"type":"registertrigger","id":"x","trigger_type":"t","function_id":"f"}')
    assert isinstance(trigger, p.RegisterTrigger)
    assert trigger.config is p.UNSET
    assert p.from_raw(trigger.config) is None
    explicit = p.decode(
        '{"type":"registertrigger","id":"x","trigger_type":"t","function_id":"f","config":null}'
    )
    assert isinstance(explicit, p.RegisterTrigger)
    assert p.is_null(explicit.config)


def test_raw_payload_bytes_are_forwarded_verbatim() -> None:
    frame = '{"type":"invokefunction","function_id":"f","data":{"b" : 1,  "a":[1.50,2]}}'
    message = p.decode(frame)
    assert isinstance(message, p.InvokeFunction)
    assert bytes(message.data) == b'{"b" : 1,  "a":[1.50,2]}'  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "void"}, p.VoidAction()),
        ({"type": "enqueue", "queue": "emails"}, p.EnqueueAction(queue="emails")),
    ],
)
def test_trigger_action(action: dict[str, Any], expected: p.TriggerAction) -> None:
    message = p.decode(
        json.dumps({"type": "invokefunction", "function_id": "f", "data": 1, "action": action})
    )
    assert isinstance(message, p.InvokeFunction)
    assert message.action == expected
    assert obj(message)["action"] == action


@pytest.mark.parametrize(
    "action",
    [{"type": "enqueue"}, {"type": "later"}, {"queue": "q"}, "void", {"type": "VOID"}],
)
def test_bad_trigger_action_is_a_protocol_error(action: Any) -> None:
    with pytest.raises(ProtocolError):
        p.decode(
            json.dumps({"type": "invokefunction", "function_id": "f", "data": 1, "action": action})
        )


def test_error_body() -> None:
    body = msgspec.json.decode(
        b'{"code":"invocation_failed","message":"boom","stacktrace":"tb"}', type=p.ErrorBody
    )
    assert (body.code, body.message, body.stacktrace) == ("invocation_failed", "boom", "tb")
    assert json.loads(msgspec.json.encode(p.ErrorBody("c", "m"))) == {"code": "c", "message": "m"}
    with pytest.raises(ProtocolError):
        p.decode(
            f'{{"type":"invocationresult","invocation_id":"{INV}","function_id":"f",'
            '"error":{"code":"c"}}'
        )


@pytest.mark.parametrize(
    ("auth", "expected_type"),
    [
        ({"type": "hmac", "secret_key": "HMAC_SECRET"}, p.HmacAuth),
        ({"type": "bearer", "token_key": "API_TOKEN"}, p.BearerAuth),
        ({"type": "api_key", "header": "x-api-key", "value_key": "API_KEY"}, p.ApiKeyAuth),
    ],
)
def test_http_invocation_ref_with_each_auth(auth: dict[str, Any], expected_type: type) -> None:
    invocation = {
        "url": "https://example.com/fn",
        "method": "PUT",
        "timeout_ms": 5000,
        "headers": {"x-a": "1"},
        "auth": auth,
    }
    message = p.decode(
        json.dumps({"type": "registerfunction", "id": "h::fn", "invocation": invocation})
    )
    assert isinstance(message, p.RegisterFunction)
    assert message.invocation is not None
    assert isinstance(message.invocation.auth, expected_type)
    assert message.invocation.method == "PUT"
    assert message.invocation.timeout_ms == 5000
    assert obj(message)["invocation"] == invocation


def test_http_invocation_ref_defaults() -> None:
    message = p.decode('{"type":"registerfunction","id":"h","invocation":{"url":"https://x"}}')
    assert isinstance(message, p.RegisterFunction)
    assert message.invocation is not None
    assert message.invocation.method == "POST"
    assert message.invocation.auth is None
    with pytest.raises(ProtocolError):
        p.decode(
            '{"type":"registerfunction","id":"h","invocation":{"url":"https://x","method":"TRACE"}}'
        )
    with pytest.raises(ProtocolError):
        p.decode(
            '{"type":"registerfunction","id":"h","invocation":{"url":"https://x",'
            '"auth":{"type":"basic"}}}'
        )


def test_stream_channel_ref() -> None:
    ref = msgspec.json.decode(
        b'{"channel_id":"c","access_key":"k","direction":"read"}', type=p.StreamChannelRef
    )
    assert (ref.channel_id, ref.access_key, ref.direction) == ("c", "k", "read")


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"Ping"}',
        '{"type":"register_function","id":"f"}',
        '{"type":"registerfunction"}',
        '{"type":"registerfunction","id":null}',
        '{"type":"registertriggertype","id":"t"}',
        '{"type":"triggerregistrationresult","id":"x","trigger_type":"t"}',
        '{"type":"invocationresult","function_id":"f"}',
        '{"type":"workerregistered"}',
        '{"id":"f"}',
        "[]",
        "",
        "nul",
    ],
)
def test_undecodable_frames_raise_protocol_error(frame: str) -> None:
    with pytest.raises(ProtocolError):
        p.decode(frame)


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"invokefunction","invocation_id":"nope","function_id":"f","data":1}',
        '{"type":"invocationresult","invocation_id":"1234","function_id":"f"}',
    ],
)
def test_non_uuid_invocation_id_is_a_protocol_error(frame: str) -> None:
    # docs/protocol.md 1.3: "a non-UUID invocation_id makes the whole frame undecodable".
    with pytest.raises(ProtocolError):
        p.decode(frame)


def test_new_id_is_lowercase_uuid4() -> None:
    ids = {p.new_id() for _ in range(300)}  # several batches
    assert len(ids) == 300
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert str(parsed) == value
