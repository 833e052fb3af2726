"""iii-state: server-side key/value state (scope -> key -> JSON) with ``state`` triggers.

Functions ``state::set/get/delete/update/list/list_groups``, the ``state``
trigger type, and three stores (:mod:`plugins.state.adapters`): ``memory``, ``file`` (embedded
SQLite, the default) and ``redis``. The update operations live in
:mod:`plugins._shared.update_ops`, pure and reusable (``stream::update`` shares them).
"""

from plugins.state.config import StateConfig
from plugins.state.worker import StateWorker

__all__ = ["StateConfig", "StateWorker"]
