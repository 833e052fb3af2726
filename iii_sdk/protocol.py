"""The iii wire protocol: every frame declared once, as msgspec Structs.

Each message is a JSON object in one WebSocket text frame, tagged by ``"type"`` (the class name
lower-cased, e.g. ``RegisterTriggerType`` -> ``"registertriggertype"``). Optional fields are
omitted on output; on input ``null`` and absent are equivalent and unknown fields are ignored.

Opaque JSON (``data``, ``result``, ``metadata``, ``config``, schemas) is carried as
:class:`msgspec.Raw`, so the engine forwards the bytes it received without re-encoding them.
A field typed ``Raw | UnsetType`` reads a missing key as :data:`UNSET` (treat it as ``null``) and is
always written when it holds a value, even ``null``: senders that must emit the key (``data`` on
``invokefunction``, ``config`` on ``registertrigger``) set ``NULL`` explicitly.

Example::

    frame = encode(InvokeFunction(function_id="math::add", invocation_id=new_id(),
                                  data=to_raw({"a": 2, "b": 3})))
    message = decode(frame)  # -> InvokeFunction(...)
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import UNSET, Raw, UnsetType

from iii_sdk.errors import ErrorBody, ProtocolError

__all__ = [
    "NULL",
    "UNSET",
    "ApiKeyAuth",
    "BearerAuth",
    "EnqueueAction",
    "ErrorBody",
    "ErrorFrame",
    "HmacAuth",
    "HttpAuthConfig",
    "HttpInvocationRef",
    "InvocationResult",
    "InvokeFunction",
    "Message",
    "Ping",
    "Pong",
    "Raw",
    "Reattach",
    "RegisterFunction",
    "RegisterService",
    "RegisterTrigger",
    "RegisterTriggerType",
    "RegistrationRejectedFrame",
    "StreamChannelRef",
    "TriggerAction",
    "TriggerRegistrationResult",
    "UnregisterFunction",
    "UnregisterTrigger",
    "UnregisterTriggerType",
    "UnsetType",
    "VoidAction",
    "WorkerRegistered",
    "decode",
    "encode",
    "from_raw",
    "is_null",
    "new_id",
    "to_raw",
]

NULL: Final = Raw(b"null")
"""The JSON ``null`` as a Raw value (for fields that must be present on the wire)."""

InvocationId = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
]
"""Invocation ids are canonical UUID strings; a frame with any other id is undecodable."""


class Message(msgspec.Struct, tag_field="type", tag=str.lower, omit_defaults=True, kw_only=True):
    """Base of every protocol frame; the subclass name lower-cased is its ``type`` tag."""


# --- shared types --------------------------------------------------------------------------------


class VoidAction(msgspec.Struct, tag_field="type", tag="void"):
    """Fire and forget: the caller gets no ``invocationresult``."""


class EnqueueAction(msgspec.Struct, tag_field="type", tag="enqueue"):
    """Route the call through the named durable queue (``engine::queue::enqueue``)."""

    queue: str


TriggerAction = VoidAction | EnqueueAction


class HmacAuth(msgspec.Struct, tag_field="type", tag="hmac"):
    """HMAC-SHA256 signature; ``secret_key`` names an engine-side environment variable."""

    secret_key: str


class BearerAuth(msgspec.Struct, tag_field="type", tag="bearer"):
    """``Authorization: Bearer``; ``token_key`` names an engine-side environment variable."""

    token_key: str


class ApiKeyAuth(msgspec.Struct, tag_field="type", tag="api_key"):
    """A custom header; ``value_key`` names an engine-side environment variable."""

    header: str
    value_key: str


HttpAuthConfig = HmacAuth | BearerAuth | ApiKeyAuth


class HttpInvocationRef(msgspec.Struct, omit_defaults=True):
    """Present on ``registerfunction`` for functions the engine invokes over HTTP."""

    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    timeout_ms: int | None = None
    headers: dict[str, str] | None = None
    auth: HttpAuthConfig | None = None


class StreamChannelRef(msgspec.Struct):
    """A reference to one side of a data channel, embeddable anywhere in a payload."""

    channel_id: str
    access_key: str
    direction: Literal["read", "write"]


# --- worker -> engine ----------------------------------------------------------------------------


class RegisterFunction(Message):
    """Export a function under ``id``."""

    id: str
    description: str | None = None
    request_format: Raw | UnsetType = UNSET
    response_format: Raw | UnsetType = UNSET
    metadata: Raw | UnsetType = UNSET
    invocation: HttpInvocationRef | None = None
    observe: Raw | UnsetType = UNSET
    """0.25: how the function may be observed (``delivery``, ``args_format``, ``allow``)."""


class UnregisterFunction(Message):
    """Withdraw a function."""

    id: str


class RegisterService(Message):
    """Declare a service grouping (bookkeeping only)."""

    id: str
    name: str | None = None
    description: str | None = None
    parent_service_id: str | None = None


class RegisterTriggerType(Message):
    """Become the provider of a trigger type."""

    id: str
    description: str
    trigger_request_format: Raw | UnsetType = UNSET
    call_request_format: Raw | UnsetType = UNSET
    namespace: str | None = None


class UnregisterTriggerType(Message):
    """Stop providing a trigger type (sent by the SDKs; an extension upstream drops)."""

    id: str
    namespace: str | None = None


class RegisterTrigger(Message):
    """Create a binding (worker -> engine) or deliver one to its provider (engine -> worker)."""

    id: str
    trigger_type: str
    function_id: str
    config: Raw | UnsetType = UNSET
    metadata: Raw | UnsetType = UNSET
    namespace: str | None = None
    trigger_namespace: str | None = None


class UnregisterTrigger(Message):
    """Remove a binding, or tell its provider to drop it."""

    id: str
    trigger_type: str | None = None


class TriggerRegistrationResult(Message):
    """A provider's ack/nack of a delivered binding, or the engine's error to the registrant."""

    id: str
    trigger_type: str
    function_id: str
    error: ErrorBody | None = None


class InvokeFunction(Message, kw_only=True):
    """Ask the engine to invoke a function, or ask a worker to run one."""

    invocation_id: InvocationId | None = None
    function_id: str
    data: Raw | UnsetType = UNSET
    traceparent: str | None = None
    baggage: str | None = None
    action: TriggerAction | None = None
    metadata: Raw | UnsetType = UNSET
    namespace: str | None = None
    caller: Raw | UnsetType = UNSET
    """0.25 (observe.v1 peers only): who makes the call."""
    observe_depth: int | None = None
    """0.25: how many observer activations deep this call is (absent = 0)."""
    activation: Raw | UnsetType = UNSET
    """0.25: ``{observer_id, activation_id?}`` on an activation or an owner delivery."""


class InvocationResult(Message):
    """The outcome of an invocation; ``error`` wins over ``result`` when both are present."""

    invocation_id: InvocationId
    function_id: str
    result: Raw | UnsetType = UNSET
    error: ErrorBody | None = None
    traceparent: str | None = None
    baggage: str | None = None


class Reattach(Message):
    """Sent on reconnect: retire the previous connection of the same worker."""

    previous_worker_id: str
    reattach_token: str | None = None


class Ping(Message):
    """JSON-level liveness probe; answered with :class:`Pong`."""


class Pong(Message):
    """Answer to :class:`Ping`."""


# --- engine -> worker ----------------------------------------------------------------------------


class WorkerRegistered(Message):
    """Always the first frame on a connection: the assigned id and the reattach token."""

    worker_id: str
    reattach_token: str | None = None
    features: list[str] | None = None
    """0.25: what the engine supports (``observe.v1``, ...); absent = a pre-0.25 engine."""


class RegistrationRejectedFrame(Message, tag="registrationrejected"):
    """A worker-name or function-id ownership conflict."""

    code: str
    namespace: str
    owner_worker_id: str
    worker_name: str | None = None
    function_id: str | None = None


class ErrorFrame(Message, tag="error"):
    """Only sent when authentication fails, right before the socket closes."""

    error: ErrorBody


AnyMessage = (
    RegisterFunction
    | UnregisterFunction
    | RegisterService
    | RegisterTriggerType
    | UnregisterTriggerType
    | RegisterTrigger
    | UnregisterTrigger
    | TriggerRegistrationResult
    | InvokeFunction
    | InvocationResult
    | WorkerRegistered
    | RegistrationRejectedFrame
    | Reattach
    | Ping
    | Pong
    | ErrorFrame
)

_decoder: Final[msgspec.json.Decoder[AnyMessage]] = msgspec.json.Decoder(AnyMessage)
_encoder: Final = msgspec.json.Encoder()
_any_decoder: Final = msgspec.json.Decoder()


def decode(frame: bytes | str) -> AnyMessage:
    """Decode one frame; raise :class:`ProtocolError` when it is not a known message."""
    try:
        return _decoder.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError) as exc:
        raise ProtocolError(str(exc)) from exc
    except RecursionError:
        # A frame nested deeper than the interpreter's recursion limit is just undecodable.
        raise ProtocolError("frame nested too deeply") from None


def encode(message: Message) -> bytes:
    """Encode one message to the bytes of a text frame."""
    return _encoder.encode(message)


def to_raw(value: Any) -> Raw:
    """Wrap any JSON-encodable value as Raw bytes (``None`` becomes JSON ``null``)."""
    if value is None:
        return NULL
    return Raw(_encoder.encode(value))


def from_raw(value: Raw | UnsetType | None) -> Any:
    """Decode a Raw field to Python objects; missing or ``null`` gives ``None``."""
    if value is None or value is UNSET:
        return None
    return _any_decoder.decode(value)


def is_null(value: Raw | UnsetType | None) -> bool:
    """True when a Raw field is missing or holds JSON ``null``."""
    if value is None or value is UNSET:
        return True
    return bytes(value).strip() == b"null"


_ID_BATCH: Final = 64
_ids: list[str] = []
# Over a batch of 16-byte ids: clear the version nibble and the variant's top two bits, then
# set version 4 and variant 10 (RFC 4122), in one big-integer operation for the whole batch.
_KEEP: Final = int.from_bytes(bytes.fromhex("ffffffffffff0fff3fffffffffffffff") * _ID_BATCH, "big")
_SET: Final = int.from_bytes(bytes.fromhex("00000000000040008000000000000000") * _ID_BATCH, "big")
_GROUPS: Final = re.compile("(.{8})(.{4})(.{4})(.{4})(.{12})").findall
"""The five dash-separated groups of each id in a batch's hex digits (one C call)."""


def new_id() -> str:
    """A fresh lowercase UUIDv4 string, the form of every engine-generated id.

    Made in batches from ``os.urandom``: one system call per 64 ids, and no Python-level
    slicing or formatting per id (the engine makes one per routed call and two per channel).
    """
    if not _ids:
        bits = int.from_bytes(os.urandom(16 * _ID_BATCH), "big") & _KEEP | _SET
        _ids.extend(map("-".join, _GROUPS(bits.to_bytes(16 * _ID_BATCH, "big").hex())))
    return _ids.pop()


# A forked child must not hand out the ids its parent still holds.
os.register_at_fork(after_in_child=_ids.clear)
