"""``iii_sdk.protocol.decode`` never raises anything but ``ProtocolError``, whatever it is fed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iii_sdk import protocol as p
from iii_sdk.errors import ProtocolError

MESSAGE_TYPES = [
    "registerfunction",
    "unregisterfunction",
    "registerservice",
    "registertriggertype",
    "unregistertriggertype",
    "registertrigger",
    "unregistertrigger",
    "triggerregistrationresult",
    "invokefunction",
    "invocationresult",
    "workerregistered",
    "registrationrejected",
    "reattach",
    "ping",
    "pong",
    "error",
]
FIELD_NAMES = [
    "id",
    "description",
    "data",
    "config",
    "metadata",
    "function_id",
    "trigger_type",
    "invocation_id",
    "action",
    "error",
    "result",
    "namespace",
    "invocation",
    "worker_id",
    "code",
    "message",
    "queue",
    "url",
    "auth",
    "method",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(MESSAGE_TYPES),
    st.uuids().map(str),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8)), children, max_size=5
        ),
    ),
    max_leaves=8,
)
frames = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(MESSAGE_TYPES), st.text(max_size=10))},
    optional={name: json_values for name in FIELD_NAMES},
)


def _decode_or_protocol_error(data: bytes | str) -> None:
    try:
        message = p.decode(data)
    except ProtocolError:
        return
    # Whatever decodes re-encodes, and decodes again to the same message.
    assert p.decode(p.encode(message)) == message


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    _decode_or_protocol_error(data)


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_arbitrary_text(data: str) -> None:
    _decode_or_protocol_error(data)


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_values(value: Any) -> None:
    _decode_or_protocol_error(json.dumps(value))


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_frame_shaped_objects(frame: dict[str, Any]) -> None:
    encoded = json.dumps(frame)
    _decode_or_protocol_error(encoded)
    _decode_or_protocol_error(encoded.encode())


def test_lone_surrogate_in_text_frame_is_a_protocol_error() -> None:
    # A str frame may hold lone surrogates (hypothesis' text() never generates them).
    with pytest.raises(ProtocolError):
        p.decode('{"type":"ping","x":"\ud800"}')
