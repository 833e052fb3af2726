"""Encoding user values (payloads, results, metadata) into raw JSON for the wire.

Channel readers and writers found in a value are written as their channel refs, so a handler
can pass or return them as they are.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from iii_sdk.channels import enc_hook
from iii_sdk.protocol import NULL, Raw

__all__ = ["json_value", "raw_value"]

_encoder: Final = msgspec.json.Encoder(enc_hook=enc_hook)


def raw_value(value: Any) -> Raw:
    """``value`` as Raw JSON (``None`` is ``null``); raise ``TypeError`` if not encodable."""
    return NULL if value is None else Raw(json_value(value))


def json_value(value: Any) -> bytes:
    """``value`` as JSON bytes; raise ``TypeError`` if not encodable."""
    try:
        return _encoder.encode(value)
    except NotImplementedError as exc:  # msgspec's enc_hook convention for "unsupported"
        raise TypeError(str(exc)) from exc
