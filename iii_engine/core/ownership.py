"""Who may replace or remove a trigger binding.

A binding belongs to the connection that registered it (or to the engine, for ownerless
bindings made through ``engine::register_trigger`` or by a built-in). Only that owner may
replace or remove the id; trigger ids show in discovery, so knowing one grants nothing. A
binding whose owning connection is already tearing down may be taken over, as for functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iii_engine.core.bindings import Binding
    from iii_engine.core.peer import Peer
    from iii_engine.core.triggers import TriggerRegistry

__all__ = ["binding_refusal", "held_by_other"]


def held_by_other(binding: Binding, worker_id: str | None) -> bool:
    """True when ``binding`` belongs to someone other than the worker ``worker_id``.

    ``worker_id`` None stands for the engine itself (in-process callers), which may touch any
    binding.
    """
    if worker_id is None:
        return False
    owner = binding.owner
    if owner is None:
        return True
    return owner.worker_id != worker_id and not owner.closing


def binding_refusal(registry: TriggerRegistry, binding_id: str, conn: Peer) -> str | None:
    """The error message refusing ``conn`` access to ``binding_id``, or None when allowed."""
    binding = registry.binding(binding_id)
    if binding is None or not held_by_other(binding, conn.worker_id):
        return None
    holder = "the engine" if binding.owner is None else "another worker"
    return (
        f"trigger '{binding_id}' belongs to {holder}; only the connection that registered it "
        "may replace or unregister it"
    )
