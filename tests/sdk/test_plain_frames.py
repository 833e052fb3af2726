"""The common call's and answer's frames, made from bytes, are what the encoder would make."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from iii_sdk import Worker
from iii_sdk._frames import call_frame, call_head, result_frame
from iii_sdk._requests import TriggerRequest, invocation, plain_head
from iii_sdk._tracing import INBOUND
from iii_sdk._values import json_value, raw_value
from iii_sdk.protocol import InvocationResult, InvokeFunction, encode
from tests.sdk.rawserver import raw_server

INVOCATION_ID = "0af76519-16cd-43dd-8448-eb211c80319c"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def request(function_id: str = "svc::echo", payload: Any = None, **extra: Any) -> TriggerRequest:
    """A call as ``Worker.trigger`` normalises it."""
    return TriggerRequest.of(
        function_id,
        payload,
        extra.get("action"),
        extra.get("timeout_ms"),
        extra.get("metadata"),
        extra.get("namespace"),
    )


@pytest.mark.parametrize(
    ("function_id", "payload"),
    [
        ("svc::echo", {"n": 1}),
        ("svc::echo", None),
        ("svc::echo", [1, "two", {"three": 3.0}]),
        ('odd "quoted" \\ id', "text with \u00e9 and \n"),
        ("\u6f22\u5b57::f", {"nested": {"deep": [None, True]}}),
    ],
)
def test_the_plain_frame_is_the_encoded_message(function_id: str, payload: Any) -> None:
    call = request(function_id, payload)
    head = plain_head(call, None)
    assert head is not None
    frame = call_frame(head, INVOCATION_ID, json_value(payload))
    message = invocation(call, None, traced=False)
    message.invocation_id = INVOCATION_ID
    decoded = msgspec.json.decode(frame)
    assert decoded == msgspec.json.decode(encode(message))
    assert msgspec.json.decode(frame, type=InvokeFunction) == message


@pytest.mark.parametrize(
    ("function_id", "result"),
    [("svc::echo", {"n": 1}), ("svc::echo", None), ('odd "quoted" \\ id', ["\u00e9", 1.5])],
)
def test_the_answer_frame_is_the_encoded_message(function_id: str, result: Any) -> None:
    frame = result_frame(INVOCATION_ID, function_id, json_value(result))
    message = InvocationResult(
        invocation_id=INVOCATION_ID, function_id=function_id, result=raw_value(result)
    )
    assert msgspec.json.decode(frame) == msgspec.json.decode(encode(message))
    assert msgspec.json.decode(frame, type=InvocationResult) == message


@pytest.mark.parametrize(
    "call",
    [
        request(action={"type": "void"}),
        request(metadata={"m": 1}),
        request(namespace="tenant-a"),
        request("engine::functions::list"),  # resolves in the default namespace
    ],
)
def test_calls_that_carry_more_are_not_plain(call: TriggerRequest) -> None:
    assert plain_head(call, None) is None


def test_a_worker_namespace_or_an_inbound_trace_is_not_plain() -> None:
    assert plain_head(request(), "tenant-b") is None
    token = INBOUND.set((TRACEPARENT, None))
    try:
        assert plain_head(request(), None) is None
    finally:
        INBOUND.reset(token)


async def test_plain_calls_on_the_wire_and_their_answers() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="plain")
        await worker.connect()
        conn = await server.accept()
        await conn.next()  # engine::workers::register
        payloads: list[Any] = [{"n": 1}, None, "text"]
        calls = [asyncio.create_task(worker.trigger("svc::echo", p)) for p in payloads]
        frames = await conn.take(len(payloads))
        assert [{k: v for k, v in f.items() if k != "invocation_id"} for f in frames] == [
            {"type": "invokefunction", "function_id": "svc::echo", "data": p} for p in payloads
        ]
        for frame in frames:
            await conn.send(
                {
                    "type": "invocationresult",
                    "invocation_id": frame["invocation_id"],
                    "function_id": "svc::echo",
                    "result": frame["data"],
                }
            )
        assert await asyncio.gather(*calls) == payloads
        await worker.close()


def test_frame_heads_stay_right_past_the_cache_size() -> None:
    for n in range(1100):  # past the per-kind cache size: it starts over and keeps working
        function_id = f"svc::f{n}"
        call = msgspec.json.decode(call_frame(call_head(function_id), INVOCATION_ID, b"1"))
        answer = msgspec.json.decode(result_frame(INVOCATION_ID, function_id, b"2"))
        assert (call["function_id"], call["data"]) == (function_id, 1)
        assert (answer["function_id"], answer["result"]) == (function_id, 2)
