"""Configuration: the worker's ``config:`` block and one ``ticker`` binding's config."""

from __future__ import annotations

import msgspec

__all__ = ["TickerConfig", "TickerWorkerConfig"]


class TickerWorkerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``iii-ticker`` entry's ``config:`` block."""

    min_interval_ms: int = 1
    """Bindings asking for a shorter interval are rejected."""


class TickerConfig(msgspec.Struct, kw_only=True):
    """A ``ticker`` binding: fire every ``interval_ms``, forever or ``max_fires`` times."""

    interval_ms: int
    max_fires: int | None = None
