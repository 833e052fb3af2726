"""Message sizes per connection: ``large-messages.v1`` and the older 1 MiB reader.

Every worker may send the engine messages up to 64 MiB. What the engine *sends* a worker is
bounded by what that worker reads: a worker that declared ``large-messages.v1`` reads 64 MiB;
the official Python SDK before 0.25 (``runtime: python`` without the feature) reads 1 MiB,
the default of its websockets client, and drops its connection on anything larger. For such a
connection the engine refuses a larger invocation or result with ``payload_too_large`` and keeps
the socket open, instead of forwarding it. Other runtimes (Node's ``ws`` reads 100 MiB) keep the
engine's 64 MiB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iii_sdk.observe_protocol import FEATURE_LARGE_MESSAGES

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer

__all__ = ["LARGE_MESSAGE_BYTES", "LEGACY_PYTHON_BYTES", "PAYLOAD_TOO_LARGE", "apply", "too_large"]

LARGE_MESSAGE_BYTES = 64 * 1024 * 1024
LEGACY_PYTHON_BYTES = 1024 * 1024
PAYLOAD_TOO_LARGE = "payload_too_large"


def apply(conn: Peer, payload: dict[str, Any]) -> None:
    """Set ``conn.max_inbound`` from its ``engine::workers::register`` payload."""
    if FEATURE_LARGE_MESSAGES in conn.features or payload.get("runtime") != "python":
        conn.max_inbound = None
    else:
        conn.max_inbound = LEGACY_PYTHON_BYTES


def too_large(size: int, limit: int) -> str:
    """The refusal message (the official SDK's wording of the same limit)."""
    return (
        f"Serialized JSON envelope is {size} bytes; the receiving worker reads at most "
        f"{limit} bytes (it did not declare large-messages.v1). Use channels for larger payloads."
    )
