"""Plugin discovery: the ``iii`` entry-point group, loaded lazily and switchable by environment.

- ``III_PLUGINS=a,b``: load only the named entry points.
- ``III_DISABLE_PLUGINS=1``: load none (the engine still runs its own core).
- ``III_BLOCK_PLUGINS=a,b``: load everything except the named entry points.

Built-in workers ship as plugins in the same group, so they can be blocked or overridden the
same way as third-party ones.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

import pluggy

from iii_sdk import hookspecs
from iii_sdk.plugin import WorkerSpec

__all__ = ["ENTRY_POINT_GROUP", "LoadedPlugin", "PluginManager"]

log = logging.getLogger("iii.engine")

ENTRY_POINT_GROUP = "iii"


@dataclass
class LoadedPlugin:
    """An entry point and what became of it."""

    name: str
    value: str
    error: str | None = None
    workers: list[str] = field(default_factory=list)


def _names(variable: str) -> set[str] | None:
    raw = os.environ.get(variable)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


class PluginManager:
    """Loads plugins once and collects the workers they register."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: list[LoadedPlugin] = []
        self.specs: dict[str, WorkerSpec] = {}
        self._aliases: dict[str, str] = {}
        self._loaded = False

    def load(self) -> None:
        """Discover and register plugins, then collect their workers (idempotent)."""
        if self._loaded:
            return
        self._loaded = True
        if os.environ.get("III_DISABLE_PLUGINS", "").lower() in ("1", "true", "yes"):
            log.info("plugins disabled by III_DISABLE_PLUGINS")
        else:
            only = _names("III_PLUGINS")
            blocked = _names("III_BLOCK_PLUGINS") or set()
            for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                if (only is not None and ep.name not in only) or ep.name in blocked:
                    continue
                self._load_entry_point(ep)
        self.pm.check_pending()
        self.pm.hook.iii_register_workers(registry=self)

    def register_module(self, name: str, module: ModuleType | object) -> None:
        """Register a plugin object directly (used by tests and embedding applications)."""
        self.pm.register(module, name=name)

    def _load_entry_point(self, ep: EntryPoint) -> None:
        record = LoadedPlugin(ep.name, ep.value)
        self.plugins.append(record)
        try:
            module = ep.load()
            if self.pm.get_plugin(ep.name) is None:
                self.pm.register(module, name=ep.name)
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            log.error("plugin %s (%s) failed to load: %s", ep.name, ep.value, record.error)

    # --- WorkerRegistry ---------------------------------------------------------------------------

    def add(self, spec: WorkerSpec) -> None:
        """Called by plugins: make a worker available by name and aliases."""
        if spec.name in self.specs:
            # Built-ins register with trylast, so the first registration is the override.
            log.info("worker %s already provided; keeping the first registration", spec.name)
            return
        self.specs[spec.name] = spec
        for alias in spec.aliases:
            self._aliases.setdefault(alias, spec.name)
        for record in self.plugins:
            if record.error is None and spec.factory.__module__.startswith(
                record.value.rsplit(".", 1)[0]
            ):
                record.workers.append(spec.name)
                break

    def resolve(self, name: str) -> WorkerSpec | None:
        """The spec for a worker name or alias."""
        spec = self.specs.get(name)
        if spec is not None:
            return spec
        canonical = self._aliases.get(name)
        return None if canonical is None else self.specs.get(canonical)

    def defaults(self) -> list[WorkerSpec]:
        """Workers that run when the engine starts without a config file."""
        return [spec for spec in self.specs.values() if spec.default]
