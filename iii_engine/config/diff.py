"""Reload diffing: which entries of a config were added, removed, changed or left alone.

Entries are matched by ``instance_id`` (``name``, ``name#1`` …) and compared with
:meth:`WorkerEntry.definition`, so moving an entry within the file changes nothing.
"""

from __future__ import annotations

import msgspec

from iii_engine.config.schema import EngineConfig, WorkerEntry

__all__ = ["ConfigDiff", "diff_configs"]


class ConfigDiff(msgspec.Struct, kw_only=True):
    """What a reload changes, entry by entry (matched by ``instance_id``).

    ``changed`` pairs ``(old, new)``; ``unchanged`` holds the *new* entries (their position or
    ``path`` may have moved, their definition did not).
    """

    added: list[WorkerEntry]
    removed: list[WorkerEntry]
    changed: list[tuple[WorkerEntry, WorkerEntry]]
    unchanged: list[WorkerEntry]

    @property
    def empty(self) -> bool:
        """True when nothing has to be stopped or started."""
        return not (self.added or self.removed or self.changed)


def diff_configs(old: EngineConfig, new: EngineConfig) -> ConfigDiff:
    """Compare two configs by instance id, in the new file's order (removals in the old's)."""
    before = {e.instance_id: e for e in old.workers}
    after = {e.instance_id for e in new.workers}
    diff = ConfigDiff(added=[], removed=[], changed=[], unchanged=[])
    for entry in new.workers:
        previous = before.get(entry.instance_id)
        if previous is None:
            diff.added.append(entry)
        elif previous.definition() != entry.definition():
            diff.changed.append((previous, entry))
        else:
            diff.unchanged.append(entry)
    diff.removed = [e for e in old.workers if e.instance_id not in after]
    return diff
