"""The frames of protocol 0.25's ``observe.v1`` family, and the feature names of the handshake.

They travel only between an engine that advertised ``observe.v1`` in ``workerregistered`` and a
worker that declared it in ``engine::workers::register`` (see ``docs/protocol-0.25.md``).
Optional fields are omitted on output; unknown fields are ignored on input.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from msgspec import UNSET, Raw, UnsetType

from iii_sdk.errors import ProtocolError
from iii_sdk.protocol import ErrorBody, Message

__all__ = [
    "FEATURE_LARGE_MESSAGES",
    "FEATURE_LOCAL_DISPATCH",
    "FEATURE_OBSERVE",
    "FunctionRegistered",
    "InvocationsObserved",
    "LocalInvocationStats",
    "Observe",
    "ObserveFrame",
    "ObserveResult",
    "ObserverAck",
    "ObserverAdded",
    "ObserverRemoved",
    "ObserverStateChanged",
    "Unobserve",
    "decode_observe_frame",
]

FEATURE_OBSERVE: Final = "observe.v1"
FEATURE_LOCAL_DISPATCH: Final = "local-dispatch.v1"
FEATURE_LARGE_MESSAGES: Final = "large-messages.v1"


class FunctionRef(msgspec.Struct, omit_defaults=True, kw_only=True):
    """A function by id, in a namespace (absent = the sender's default)."""

    function_id: str
    namespace: str | None = None


class ObserveSourceWire(FunctionRef, kw_only=True):
    """What an observer watches and how its events are shaped."""

    args: Raw | UnsetType = UNSET
    filters: Raw | UnsetType = UNSET
    capture: list[str] | None = None
    on: str | None = None
    deliver: str | None = None


class Observe(Message, kw_only=True):
    """W->E: create an observer, or replay one with the same id."""

    id: str
    source: ObserveSourceWire
    target: FunctionRef
    metadata: Raw | UnsetType = UNSET
    max_fires: int | None = None
    expires_in_ms: int | None = None
    max_in_flight: int | None = None


class Unobserve(Message):
    """W->E: remove an observer the sender created."""

    id: str


class ObserveResult(Message, kw_only=True):
    """E->W: the answer to every ``observe``: the observer's current state."""

    id: str
    state: str
    error: ErrorBody | None = None
    warnings: list[str] | None = None


class ObserverStateChanged(Message, kw_only=True):
    """E->W: an observer's lifecycle changed."""

    id: str
    state: str
    reason: ErrorBody | None = None
    fires: int = 0


class FunctionRegistered(Message, kw_only=True):
    """E->W: a ``registerfunction`` was applied; the function's complete observer set."""

    id: str
    namespace: str
    revision: int
    local_dispatch: bool
    observers: list[dict[str, Any]]


class ObserverAdded(Message, kw_only=True):
    """E->W: one observer attached to a function the receiver hosts."""

    function_id: str
    namespace: str
    revision: int
    observer: dict[str, Any]


class ObserverRemoved(Message, kw_only=True):
    """E->W: one observer detached from a function the receiver hosts."""

    function_id: str
    namespace: str
    revision: int
    id: str


class ObserverAck(Message, kw_only=True):
    """W->E: the owner accepted (or, with ``error``, rejected) an announced observer."""

    function_id: str
    id: str
    revision: int
    namespace: str | None = None
    error: ErrorBody | None = None


class InvocationsObserved(Message):
    """W->E: matched local invocations and owner ``emit`` events."""

    items: list[dict[str, Any]]


class LocalInvocationStats(Message, kw_only=True):
    """W->E: periodic counts of local invocations and dropped reports."""

    window_ms: int = 0
    functions: list[dict[str, Any]] = msgspec.field(default_factory=list)
    dropped_reports: list[dict[str, Any]] = msgspec.field(default_factory=list)


ObserveFrame = (
    Observe
    | Unobserve
    | ObserveResult
    | ObserverStateChanged
    | FunctionRegistered
    | ObserverAdded
    | ObserverRemoved
    | ObserverAck
    | InvocationsObserved
    | LocalInvocationStats
)

_decoder: Final[msgspec.json.Decoder[ObserveFrame]] = msgspec.json.Decoder(ObserveFrame)


def decode_observe_frame(frame: bytes | str) -> ObserveFrame:
    """Decode one observe-family frame; :class:`ProtocolError` when it is not one."""
    try:
        return _decoder.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError) as exc:
        raise ProtocolError(str(exc)) from exc
    except RecursionError:
        # Like iii_sdk.protocol.decode: a frame nested too deeply is just undecodable.
        raise ProtocolError("frame nested too deeply") from None
