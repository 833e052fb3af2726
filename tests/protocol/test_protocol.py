"""The wire schema (``iii_sdk.protocol``): spec examples, round trips, optional/unknown fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iii_sdk import protocol as p

W = "0b7c1a52-7c1e-4a7e-9d0c-2f1f4f3b9e11"
T = "5e1d2c3b-4a59-4b6c-8d7e-9f0a1b2c3d4e"
INV = "9f3c8b7a-6d5e-4f4a-9b3c-2d1e0f9a8b7c"
TRIG = "2d0e4c6a-8b1d-4e3f-a5b7-c9d1e3f5a7b9"
OWNER = "41aa0b1c-2d3e-4f5a-8b7c-9d0e1f2a3b4c"

# Typical frames of each kind (docs/protocol.md section 1.5), with real UUIDs.
SPEC_EXAMPLES = [
    f'{{"type":"workerregistered","worker_id":"{W}","reattach_token":"{T}"}}',
    f'{{"type":"invokefunction","invocation_id":"{INV}","function_id":"math::add",'
    '"data":{"a":2,"b":3}}',
    f'{{"type":"invocationresult","invocation_id":"{INV}","function_id":"math::add",'
    '"result":{"c":5}}',
    f'{{"type":"invocationresult","invocation_id":"{INV}","function_id":"math::add",\n'
    ' "error":{"code":"function_not_found","message":'
    '"Function math::add not found in namespace default."}}',
    f'{{"type":"registertrigger","id":"{TRIG}","trigger_type":"cron","function_id":"jobs::tick",\n'
    ' "config":{"expression":"0 * * * * *"},"metadata":{"team":"ops"}}',
    '{"type":"registrationrejected","code":"FUNCTION_NAMESPACE_CONFLICT","namespace":"default",\n'
    f' "function_id":"math::add","owner_worker_id":"{OWNER}"}}',
    '{"type":"ping"}',
    '{"type":"pong"}',
    '{"type":"error","error":{"code":"AUTH_ERROR","message":"denied"}}',
]


def obj(message: p.Message) -> dict[str, Any]:
    decoded = json.loads(p.encode(message))
    assert isinstance(decoded, dict)
    return decoded


@pytest.mark.parametrize("frame", SPEC_EXAMPLES)
def test_spec_examples_decode_and_reencode_to_the_same_json(frame: str) -> None:
    message = p.decode(frame)
    assert obj(message) == json.loads(frame)


def test_spec_example_fields() -> None:
    invoke = p.decode(SPEC_EXAMPLES[1])
    assert isinstance(invoke, p.InvokeFunction)
    assert (invoke.invocation_id, invoke.function_id) == (INV, "math::add")
    assert p.from_raw(invoke.data) == {"a": 2, "b": 3}
    failed = p.decode(SPEC_EXAMPLES[3])
    assert isinstance(failed, p.InvocationResult)
    assert failed.error == p.ErrorBody(
        "function_not_found", "Function math::add not found in namespace default."
    )
    assert failed.result is p.UNSET
    trigger = p.decode(SPEC_EXAMPLES[4])
    assert isinstance(trigger, p.RegisterTrigger)
    assert p.from_raw(trigger.config) == {"expression": "0 * * * * *"}
    assert p.from_raw(trigger.metadata) == {"team": "ops"}
    rejected = p.decode(SPEC_EXAMPLES[5])
    assert isinstance(rejected, p.RegistrationRejectedFrame)
    assert rejected.owner_worker_id == OWNER
    assert rejected.worker_name is None


RAW = p.to_raw
ROUND_TRIPS: list[tuple[p.Message, dict[str, Any]]] = [
    (
        p.RegisterFunction(
            id="math::add",
            description="adds",
            request_format=RAW({"type": "object"}),
            response_format=RAW({"type": "number"}),
            metadata=RAW({"internal": True}),
        ),
        {
            "type": "registerfunction",
            "id": "math::add",
            "description": "adds",
            "request_format": {"type": "object"},
            "response_format": {"type": "number"},
            "metadata": {"internal": True},
        },
    ),
    (p.UnregisterFunction(id="math::add"), {"type": "unregisterfunction", "id": "math::add"}),
    (
        p.RegisterService(id="math", name="Math", description="d", parent_service_id="root"),
        {
            "type": "registerservice",
            "id": "math",
            "name": "Math",
            "description": "d",
            "parent_service_id": "root",
        },
    ),
    (
        p.RegisterTriggerType(
            id="webhook",
            description="hooks",
            trigger_request_format=RAW({"a": 1}),
            call_request_format=RAW({"b": 2}),
            namespace="ns",
        ),
        {
            "type": "registertriggertype",
            "id": "webhook",
            "description": "hooks",
            "trigger_request_format": {"a": 1},
            "call_request_format": {"b": 2},
            "namespace": "ns",
        },
    ),
    (
        p.UnregisterTriggerType(id="webhook"),
        {"type": "unregistertriggertype", "id": "webhook"},
    ),
    (
        p.RegisterTrigger(
            id=TRIG,
            trigger_type="cron",
            function_id="jobs::tick",
            config=p.NULL,
            namespace="ns",
            trigger_namespace="tns",
        ),
        {
            "type": "registertrigger",
            "id": TRIG,
            "trigger_type": "cron",
            "function_id": "jobs::tick",
            "config": None,
            "namespace": "ns",
            "trigger_namespace": "tns",
        },
    ),
    (
        p.UnregisterTrigger(id=TRIG, trigger_type="cron"),
        {"type": "unregistertrigger", "id": TRIG, "trigger_type": "cron"},
    ),
    (
        p.TriggerRegistrationResult(
            id=TRIG,
            trigger_type="cron",
            function_id="jobs::tick",
            error=p.ErrorBody("trigger_registration_failed", "bad"),
        ),
        {
            "type": "triggerregistrationresult",
            "id": TRIG,
            "trigger_type": "cron",
            "function_id": "jobs::tick",
            "error": {"code": "trigger_registration_failed", "message": "bad"},
        },
    ),
    (
        p.InvokeFunction(
            invocation_id=INV,
            function_id="math::add",
            data=RAW([1, 2]),
            traceparent="00-abc-def-01",
            baggage="k=v",
            action=p.EnqueueAction(queue="q"),
            metadata=RAW({"m": 1}),
            namespace="ns",
        ),
        {
            "type": "invokefunction",
            "invocation_id": INV,
            "function_id": "math::add",
            "data": [1, 2],
            "traceparent": "00-abc-def-01",
            "baggage": "k=v",
            "action": {"type": "enqueue", "queue": "q"},
            "metadata": {"m": 1},
            "namespace": "ns",
        },
    ),
    (
        p.InvocationResult(
            invocation_id=INV,
            function_id="math::add",
            result=RAW(5),
            traceparent="tp",
            baggage="bg",
        ),
        {
            "type": "invocationresult",
            "invocation_id": INV,
            "function_id": "math::add",
            "result": 5,
            "traceparent": "tp",
            "baggage": "bg",
        },
    ),
    (
        p.WorkerRegistered(worker_id=W, reattach_token=T),
        {"type": "workerregistered", "worker_id": W, "reattach_token": T},
    ),
    (
        p.RegistrationRejectedFrame(
            code="WORKER_NAMESPACE_CONFLICT",
            namespace="default",
            owner_worker_id=OWNER,
            worker_name="svc",
        ),
        {
            "type": "registrationrejected",
            "code": "WORKER_NAMESPACE_CONFLICT",
            "namespace": "default",
            "owner_worker_id": OWNER,
            "worker_name": "svc",
        },
    ),
    (
        p.Reattach(previous_worker_id=W, reattach_token=T),
        {"type": "reattach", "previous_worker_id": W, "reattach_token": T},
    ),
    (p.Ping(), {"type": "ping"}),
    (p.Pong(), {"type": "pong"}),
    (
        p.ErrorFrame(error=p.ErrorBody("AUTH_ERROR", "no", stacktrace="st")),
        {"type": "error", "error": {"code": "AUTH_ERROR", "message": "no", "stacktrace": "st"}},
    ),
]


@pytest.mark.parametrize(
    ("message", "expected"), ROUND_TRIPS, ids=[e["type"] for _, e in ROUND_TRIPS]
)
def test_round_trip(message: p.Message, expected: dict[str, Any]) -> None:
    assert obj(message) == expected
    again = p.decode(p.encode(message))
    assert type(again) is type(message)
    assert obj(again) == expected


def test_round_trips_cover_every_message_type() -> None:
    types = {e["type"] for _, e in ROUND_TRIPS}
    assert len(types) == 16  # the 15 of docs/protocol.md 1.4 + the error frame
    assert {"unregistertriggertype", "error"} <= types
