"""Storage adapters of iii-state behind one interface (:class:`StateAdapter`).

``memory`` (process-local), ``file`` (embedded SQLite, the durable default) and ``redis``
(shared by several engines). :func:`create_adapter` builds the one a config selects.
"""

from __future__ import annotations

import logging

from plugins.state.adapters.base import StateAdapter
from plugins.state.adapters.file import FileAdapter
from plugins.state.adapters.memory import MemoryAdapter
from plugins.state.config import AdapterChoice

__all__ = ["FileAdapter", "MemoryAdapter", "StateAdapter", "create_adapter"]


def create_adapter(choice: AdapterChoice, logger: logging.Logger | None = None) -> StateAdapter:
    """An unopened adapter for ``choice`` (call ``await adapter.open()``)."""
    if choice.kind == "file":
        assert choice.path is not None
        return FileAdapter(choice.path, logger)
    if choice.kind == "bridge":
        from plugins.state.adapters.bridge import BridgeAdapter

        assert choice.url is not None
        return BridgeAdapter(choice.url)
    if choice.kind == "redis":
        # Imported lazily: redis is an optional dependency (extra ``redis``).
        from plugins.state.adapters.redis_adapter import RedisAdapter

        assert choice.url is not None
        return RedisAdapter(choice.url)
    return MemoryAdapter()
