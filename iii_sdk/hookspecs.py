"""Every iii plugin hook, in one place.

Plugins are found through the ``iii`` entry-point group (``[project.entry-points.iii]``) and
implement hooks with :data:`hookimpl`. Hooks are synchronous and only *declare* things; the
engine drives the async work. Built-in plugins use ``trylast=True`` so an installed plugin can
override them.

Example (a third party's ``pyproject.toml`` has ``[project.entry-points.iii] ticker =
"iii_ticker"``)::

    from iii_sdk.hookspecs import hookimpl
    from iii_sdk.plugin import WorkerRegistry, WorkerSpec

    @hookimpl
    def iii_register_workers(registry: WorkerRegistry) -> None:
        registry.add(WorkerSpec(name="iii-ticker", factory=TickerWorker, config_type=TickerConfig))
"""

from __future__ import annotations

import pluggy

from iii_sdk.plugin import WorkerRegistry

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "iii_register_workers"]

PROJECT_NAME = "iii"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification (used in this module only)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementation."""


# --- phase: plugin loading (once, before the config is applied) ---------------------------------


@hookspec
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add the built-in workers this plugin provides.

    Called once when the engine loads its plugins, before ``config.yaml`` is read. Call
    ``registry.add(WorkerSpec(...))`` for each worker; a ``workers:`` entry whose ``name`` (or an
    alias) matches selects it.
    """
