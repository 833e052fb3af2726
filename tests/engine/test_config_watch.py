"""ConfigWatcher: real file changes on disk become reloads; a bad file is fatal."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from iii_engine.config.schema import EngineConfig, load_config
from iii_engine.config.watch import ConfigWatcher
from iii_sdk.errors import ConfigError

WAIT_S = 20.0
BASE = "workers:\n  - name: a\n    command: [x]\n"


class Applied:
    """The apply callback: records every reload and lets the test await the next one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[EngineConfig] = asyncio.Queue()

    async def __call__(self, config: EngineConfig) -> None:
        await self.queue.put(config)

    async def next(self) -> EngineConfig:
        return await asyncio.wait_for(self.queue.get(), WAIT_S)


Watching = tuple[ConfigWatcher, Applied, "asyncio.Task[None]"]


def write(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    write(path, BASE)
    return path


@pytest.fixture
async def watching(
    config_file: Path,
) -> AsyncIterator[tuple[ConfigWatcher, Applied, asyncio.Task[None]]]:
    applied = Applied()
    watcher = ConfigWatcher(load_config(config_file), applied, debounce_ms=50, idle_wake_ms=100)
    task = asyncio.create_task(watcher.run())
    await asyncio.wait_for(watcher.ready.wait(), WAIT_S)
    yield watcher, applied, task
    watcher.stop()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), WAIT_S)


async def test_a_change_is_applied(
    config_file: Path, watching: tuple[ConfigWatcher, Applied, asyncio.Task[None]]
) -> None:
    watcher, applied, _ = watching
    write(config_file, BASE + "  - name: b\n    command: [y]\n")
    config = await applied.next()
    assert [e.instance_id for e in config.workers] == ["a", "b"]
    assert watcher.config is config


async def test_identical_save_is_ignored(
    config_file: Path, watching: tuple[ConfigWatcher, Applied, asyncio.Task[None]]
) -> None:
    _, applied, _ = watching
    write(config_file, BASE)  # same content: no reload
    write(config_file, BASE.replace("[x]", "[z]"))
    config = await applied.next()
    assert [e.command for e in config.workers] == [["z"]]


async def test_an_atomic_rename_save_is_seen(
    config_file: Path, watching: tuple[ConfigWatcher, Applied, asyncio.Task[None]]
) -> None:
    _, applied, _ = watching
    temp = config_file.with_name(".config.yaml.tmp")
    write(temp, "workers: []\n")
    os.replace(temp, config_file)
    config = await applied.next()
    assert config.workers == []


async def test_an_invalid_file_is_fatal(
    config_file: Path, watching: tuple[ConfigWatcher, Applied, asyncio.Task[None]]
) -> None:
    _, applied, task = watching
    write(config_file, "workers:\n  - name: a\n    restart: sometimes\n    command: [x]\n")
    with pytest.raises(ConfigError, match=r"workers\[0\]\.restart"):
        await asyncio.wait_for(task, WAIT_S)
    assert applied.queue.empty()


def test_a_config_without_a_file_cannot_be_watched() -> None:
    with pytest.raises(ValueError, match="file"):
        ConfigWatcher(EngineConfig(workers=[], base_dir=Path(".")), Applied())
