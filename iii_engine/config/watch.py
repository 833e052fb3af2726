"""Watching ``config.yaml`` for hot reload: debounce, re-parse, hand over.

The config file's directory is watched (not recursively, so editors that save by renaming a
temporary file are seen too); changes to the file are coalesced for ``debounce_ms`` (500 ms, as
upstream), then the file is parsed with the same rules as at boot. A config whose entries or
settings differ from the running one is handed to ``apply(new_config)`` (the engine works out
what to stop and start, :func:`iii_engine.config.plan.diff_plans`); saving identical content
does nothing. An unreadable or invalid file raises :class:`ConfigError` out of :meth:`run`: upstream
treats a bad reload as fatal, and so does the engine.

Example::

    watcher = ConfigWatcher(config, apply=engine_apply)
    task = asyncio.create_task(watcher.run())   # raises ConfigError on a bad file
    ...
    watcher.stop(); await task
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import watchfiles

from iii_engine.config.schema import EngineConfig, load_config

__all__ = ["ApplyReload", "ConfigWatcher"]

logger = logging.getLogger("iii.reload")

IDLE_WAKE_MS = 5_000
"""How long the watch thread waits for a change before it comes back to the event loop (a
thread round trip, a task group and a loop pass each time: at 100 ms they kept an idle engine
at ~1 % of a core). Stopping does not wait for it (the thread checks the stop event every
``step``)."""

ApplyReload = Callable[[EngineConfig], Awaitable[None]]
"""Applies a reload: stop removed/changed entries, start changed/added ones."""


class ConfigWatcher:
    """Follows the file of ``config`` and reports each effective change to ``apply``."""

    def __init__(
        self,
        config: EngineConfig,
        apply: ApplyReload,
        *,
        debounce_ms: int = 500,
        idle_wake_ms: int = IDLE_WAKE_MS,
    ) -> None:
        if config.path is None:
            raise ValueError("only a config read from a file can be watched")
        self.config = config
        self.path: Path = config.path
        self.apply = apply
        self.debounce_ms = debounce_ms
        self.idle_wake_ms = idle_wake_ms
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once the file system watch is armed (changes before that may be missed): when
        the watch first comes back, a change or ``idle_wake_ms`` after it started."""

    def stop(self) -> None:
        """Make :meth:`run` return after the change it may be applying."""
        self._stop.set()

    async def run(self) -> None:
        """Watch until :meth:`stop`; raise :class:`ConfigError` when a changed file is invalid."""
        target = self.path

        def is_config(_change: watchfiles.Change, path: str) -> bool:
            return Path(path) == target

        changes = watchfiles.awatch(
            target.parent,
            watch_filter=is_config,
            debounce=self.debounce_ms,
            step=50,
            recursive=False,
            stop_event=self._stop,
            yield_on_timeout=True,
            rust_timeout=self.idle_wake_ms,
        )
        async for batch in changes:
            self.ready.set()
            if self._stop.is_set():
                return
            if batch:
                await self.reload()

    async def reload(self) -> bool:
        """Parse the file now and apply it if anything changed; True when it was applied."""
        new = load_config(self.path)
        if _fingerprint(new) == _fingerprint(self.config):
            logger.debug("config %s saved without changes", self.path)
            self.config = new
            return False
        logger.info("config %s changed: reloading", self.path)
        await self.apply(new)
        self.config = new
        return True


def _fingerprint(config: EngineConfig) -> tuple[Any, ...]:
    # Entries matched by instance id (their order in the file does not matter), and settings.
    entries = sorted((e.instance_id, e.definition()) for e in config.workers)
    return (entries, config.registration_namespace_grace_ms)
