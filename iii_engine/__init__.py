"""iii-py's engine: the process workers connect to.

Layout (each subpackage's docstring says what it owns and what it may import):

- :mod:`iii_engine.core`: function and trigger registries, the router, invocations.
- :mod:`iii_engine.server`: the worker WebSocket server and its connections.
- :mod:`iii_engine.builtins`: the engine's own ``engine::*`` functions.
- :mod:`iii_engine.channels`: data channels (streams between workers).
- :mod:`iii_engine.config`: ``config.yaml``, the plugin manager, plans and hot reload.
- :mod:`iii_engine.processes`: the supervisor of worker processes.
- :mod:`iii_engine.cli`: the ``iii`` command.
- :mod:`iii_engine.engine`: :class:`Engine`, the composition root that wires them together.

``Engine`` is exported here lazily, so importing a light module (the CLI's raw client, the
config loader) does not load the whole engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iii_engine.engine import Engine

__all__ = ["Engine"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from iii_engine.engine import Engine

        return Engine
    raise AttributeError(f"module 'iii_engine' has no attribute {name!r}")
