"""Message sizes per connection (``large-messages.v1``): see :mod:`iii_engine.core.sizes`.

The limits live in the core because the router enforces them on the byte-forwarding path.
"""

from __future__ import annotations

from iii_engine.core.sizes import (
    LARGE_MESSAGE_BYTES,
    LEGACY_PYTHON_BYTES,
    PAYLOAD_TOO_LARGE,
    apply,
    too_large,
)

__all__ = ["LARGE_MESSAGE_BYTES", "LEGACY_PYTHON_BYTES", "PAYLOAD_TOO_LARGE", "apply", "too_large"]
