"""iii-stream: realtime streams (stream -> group -> item -> JSON) with WebSocket subscriptions.

Functions ``stream::set/get/delete/update/list/list_groups/list_all/send`` (workers.md §4.1),
custom stream implementations registered by workers (``stream::<op>(<name>)``), the ``stream``,
``stream:join`` and ``stream:leave`` trigger types, and the subscription WebSocket on port 3112
(:mod:`plugins.stream.server`). Stores: memory, SQLite file (default), Redis (with Redis pub/sub
fan-out between engines) and the bridge to another engine (:mod:`plugins.stream.bridge`).
"""

from plugins.stream.config import StreamConfig
from plugins.stream.worker import StreamWorker

__all__ = ["StreamConfig", "StreamWorker"]
