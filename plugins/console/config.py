"""The ``config:`` block of an ``iii-console`` worker entry::

    port: 3113                 # 0 picks a free port
    host: 127.0.0.1            # loopback unless configured otherwise
    engine_url: ws://127.0.0.1:49134   # optional: connect as a worker (see below)
    headers: {authorization: "Bearer ..."}   # sent on that worker connection's upgrade
    worker_name: iii-console

Without ``engine_url`` the console calls functions in-process, with the engine's full view.
With it, the console is an ordinary worker on that listener: an ``rbac`` auth function sees
``headers`` and the console shows only what that session may see.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["ConsoleConfig"]


class ConsoleConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``iii-console`` worker config; unknown keys are rejected."""

    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 3113
    host: str = "127.0.0.1"
    engine_url: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    worker_name: str = "iii-console"
