"""Resolving a config into what the engine runs: listeners, built-in workers, processes.

Everything is resolved and validated before anything starts (or, on a reload, before anything
stops), so a bad config changes nothing. Two plans are compared entry by entry to reload only
what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import EngineConfig, WorkerEntry, WorkerManagerConfig, decode_block
from iii_engine.config.suggest import unknown_worker_message
from iii_sdk.errors import ConfigError
from iii_sdk.plugin import WorkerSpec

__all__ = [
    "CORE_WORKERS",
    "WORKER_MANAGER",
    "BuiltinPlan",
    "Plan",
    "PlanDiff",
    "diff_plans",
    "make_plan",
    "worker_config",
]

WORKER_MANAGER = "iii-worker-manager"
CORE_WORKERS = frozenset({"iii-engine-functions"})
"""Mandatory upstream entries the engine core serves itself; their entries are accepted."""
OBSERVABILITY = "iii-observability"
"""Mandatory upstream built-in: runs (first, with its defaults) even when no entry names it."""


@dataclass(frozen=True)
class BuiltinPlan:
    """A built-in worker to run: its spec and its decoded config."""

    spec: WorkerSpec
    config: Any

    def same_as(self, other: BuiltinPlan) -> bool:
        """Same implementation and equal config."""
        return self.spec is other.spec and self.config == other.config


@dataclass
class Plan:
    """What one config runs, keyed by instance id, in file order."""

    managers: dict[str, WorkerManagerConfig] = field(default_factory=dict)
    builtins: dict[str, BuiltinPlan] = field(default_factory=dict)
    processes: dict[str, WorkerEntry] = field(default_factory=dict)


@dataclass
class PlanDiff:
    """Instance ids to stop and to start, per kind (a changed entry is in both)."""

    stop_managers: list[str] = field(default_factory=list)
    start_managers: list[str] = field(default_factory=list)
    stop_builtins: list[str] = field(default_factory=list)
    start_builtins: list[str] = field(default_factory=list)
    stop_processes: list[str] = field(default_factory=list)
    start_processes: list[str] = field(default_factory=list)


def make_plan(config: EngineConfig, plugins: PluginManager) -> Plan:
    """Resolve every entry; raise :class:`ConfigError` naming the entry and key."""
    plan = Plan()
    for entry in config.workers:
        if entry.is_process:
            plan.processes[entry.instance_id] = entry
            continue
        if entry.name == WORKER_MANAGER:
            _no_image(entry)
            block = decode_block(entry.config, WorkerManagerConfig, f"{entry.path}.config")
            plan.managers[entry.instance_id] = block
            continue
        if entry.name in CORE_WORKERS:
            _no_image(entry)
            continue
        spec = plugins.resolve(entry.name)
        if spec is None:
            raise ConfigError(unknown_worker_message(entry.name, plugins), f"{entry.path}.name")
        _no_image(entry)
        first = next((k for k, b in plan.builtins.items() if b.spec is spec), None)
        if first is not None:
            raise ConfigError(
                f"{spec.name} is already declared as {first!r}; a built-in worker runs once",
                f"{entry.path}.name",
            )
        plan.builtins[entry.instance_id] = BuiltinPlan(spec, worker_config(entry, spec))
    if not config.from_file:
        for spec in plugins.defaults():
            plan.builtins.setdefault(spec.name, BuiltinPlan(spec, worker_config(None, spec)))
    _add_mandatory(plan, plugins)
    if not plan.managers:
        # Without a file nothing was asked for: stay on loopback (docs/security.md).
        plan.managers[WORKER_MANAGER] = (
            WorkerManagerConfig() if config.from_file else WorkerManagerConfig(host="127.0.0.1")
        )
    return plan


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """What a reload from ``old`` to ``new`` must stop and start."""
    diff = PlanDiff()
    diff.stop_managers, diff.start_managers = _diff(old.managers, new.managers, lambda a, b: a == b)
    diff.stop_builtins, diff.start_builtins = _diff(
        old.builtins, new.builtins, lambda a, b: a.same_as(b)
    )
    diff.stop_processes, diff.start_processes = _diff(
        old.processes, new.processes, lambda a, b: a.definition() == b.definition()
    )
    return diff


def worker_config(entry: WorkerEntry | None, spec: WorkerSpec) -> Any:
    """An entry's ``config:`` block decoded into the worker's config type."""
    if spec.config_type is None:
        return None if entry is None else entry.config
    block = None if entry is None else entry.config
    path = f"{entry.path}.config" if entry is not None else f"{spec.name}.config"
    return decode_block({} if block is None else block, spec.config_type, path)


def _add_mandatory(plan: Plan, plugins: PluginManager) -> None:
    """Put ``iii-observability`` first, with its defaults unless an entry configures it."""
    spec = plugins.resolve(OBSERVABILITY)
    if spec is None:  # plugin not loaded: the core's engine::log::* fallback serves logs
        return
    key = next((k for k, b in plan.builtins.items() if b.spec is spec), None)
    first = (
        plan.builtins.pop(key) if key is not None else BuiltinPlan(spec, worker_config(None, spec))
    )
    plan.builtins = {key or spec.name: first, **plan.builtins}


def _no_image(entry: WorkerEntry) -> None:
    if entry.image is not None:
        raise ConfigError(
            f"`image` cannot be set on the built-in worker {entry.name!r}", f"{entry.path}.image"
        )


def _diff(old: dict[str, Any], new: dict[str, Any], same: Any) -> tuple[list[str], list[str]]:
    stop = [key for key, value in old.items() if key not in new or not same(value, new[key])]
    start = [key for key, value in new.items() if key not in old or not same(old[key], value)]
    return stop, start
