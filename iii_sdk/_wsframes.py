"""Client text frames (RFC 6455, section 5.2), framed and masked here instead of by aiohttp.

A client must mask every frame it sends with a fresh 32-bit key (section 5.3). aiohttp draws
each key from a Mersenne Twister through a ``functools.partial`` and a ``struct`` pack, copies
the payload, masks it, and joins header, key and payload in two concatenations: about half a
microsecond per frame, and every call and every answer of a busy worker is a frame. Here the
caller (:meth:`iii_sdk._corked.CorkedTransport.write_text`) slices keys from a batch of
:func:`os.urandom` bytes: a stronger source than aiohttp's, and one system call per
:data:`KEY_BATCH` frames. The masking is aiohttp's own compiled routine when it is importable
(a pure-Python XOR otherwise), and a frame is one concatenation.

Only text frames of the connection's data path go through here; control frames (ping, pong,
close) are still written by aiohttp.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

__all__ = [
    "FIN_TEXT",
    "KEY_BATCH",
    "MEDIUM_FRAME",
    "MEDIUM_HEAD",
    "SMALL_FRAME",
    "SMALL_HEADS",
    "mask_python",
    "masked_text_frame",
    "websocket_mask",
]

KEY_BATCH: Final = 256
"""Masking keys to draw from the OS per :func:`os.urandom` call."""
_KEY_BYTES: Final = 4
FIN_TEXT: Final = 0x81
"""The first header byte of a final text frame."""
_MASKED: Final = 0x80
SMALL_FRAME: Final = 126
"""Payloads shorter than this have their length in the header's second byte."""
SMALL_HEADS: Final = tuple(bytes((FIN_TEXT, _MASKED | n)) for n in range(SMALL_FRAME))
"""The two header bytes of every masked text frame shorter than :data:`SMALL_FRAME`."""
MEDIUM_FRAME: Final = 1 << 16
"""Payloads shorter than this (and not small) have a 16-bit length after byte 254."""
MEDIUM_HEAD: Final = struct.Struct("!BBH").pack
"""Packs the header of a medium frame: ``MEDIUM_HEAD(FIN_TEXT, 254, size)``."""
_LARGE_HEAD: Final = struct.Struct("!BBQ").pack


def mask_python(key: bytes, data: bytearray) -> None:
    """XOR ``data`` in place with the 4-byte ``key`` repeated (the masking of section 5.3)."""
    size = len(data)
    if size:
        repeated = (key * (size // _KEY_BYTES + 1))[:size]
        data[:] = (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(
            size, "little"
        )


def _compiled_mask() -> Callable[[bytes, bytearray], None]:
    try:
        from aiohttp._websocket.helpers import websocket_mask as compiled
    except ImportError:  # an aiohttp without that module: the same result, computed in Python
        return mask_python
    return compiled


websocket_mask: Final = _compiled_mask()
"""Mask a bytearray in place with a 4-byte key."""


def masked_text_frame(payload: bytes, key: bytes) -> bytes:
    """One final, masked text frame carrying ``payload``, masked with ``key``."""
    size = len(payload)
    if size < SMALL_FRAME:
        head = SMALL_HEADS[size]
    elif size < MEDIUM_FRAME:
        head = MEDIUM_HEAD(FIN_TEXT, _MASKED | 126, size)
    else:
        head = _LARGE_HEAD(FIN_TEXT, _MASKED | 127, size)
    body = bytearray(payload)
    websocket_mask(key, body)
    return head + key + body
