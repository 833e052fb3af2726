"""iii-cron's config block: upstream's blocks load unchanged, errors name the key path."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from iii_engine.testing import start_engine
from iii_sdk.errors import ConfigError
from plugins.cron.adapters.kv import KvLock
from plugins.cron.config import CronConfig, LockChoice, resolve_lock
from tests.plugins.cron.conftest import cron_worker

UPSTREAM_KV = """
workers:
  - name: iii-cron
    config:
      adapter:
        name: kv
        config:
          lock_ttl_ms: 30000
          lock_index: cron_locks
          store_method: file_based
          file_path: ./data/cron_locks.db
          save_interval_ms: 5000
"""


async def test_upstream_kv_block_loads() -> None:
    async with start_engine(UPSTREAM_KV) as engine:
        lock = cron_worker(engine).lock
        assert isinstance(lock, KvLock)
        assert (lock.ttl_ms, lock.index) == (30_000, "cron_locks")


async def test_alias_cron_and_no_config() -> None:
    async with start_engine(workers=[{"name": "cron"}]) as engine:
        assert isinstance(cron_worker(engine).lock, KvLock)


def test_redis_block() -> None:
    block = {"adapter": {"name": "redis", "config": {"redis_url": "redis://h:1"}}}
    config = msgspec.convert(block, CronConfig)
    assert resolve_lock(config) == LockChoice("redis", url="redis://h:1")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"adapter": {"name": "zookeeper"}}, r"unknown cron adapter 'zookeeper'"),
        ({"adapter": {"name": "kv", "config": {"bogus": 1}}}, r"adapter\.config.*bogus"),
        ({"adapter": {"name": "redis", "config": {"url": "x"}}}, r"adapter\.config.*url"),
        ({"adapter": {"name": "kv", "config": {"lock_ttl_ms": 5}}}, r"lock_ttl_ms"),
        ({"locks": 1}, r"locks"),
    ],
)
async def test_bad_blocks_are_config_errors(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"workers\[1\]\.config.*" + message):
        async with start_engine(workers=[{"name": "iii-cron", "config": block}]):
            pass
