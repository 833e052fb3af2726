"""The ``memory`` adapter: jobs live in this process only and are lost when it stops."""

from __future__ import annotations

from plugins.queue.adapters.local import LocalAdapter

__all__ = ["MemoryAdapter"]


class MemoryAdapter(LocalAdapter):
    """In-process queues without persistence."""
