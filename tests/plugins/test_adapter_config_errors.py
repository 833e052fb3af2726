"""Adapter blocks are validated when the config loads, and errors name the key path."""

from __future__ import annotations

import pytest

from iii_engine.testing import start_engine
from iii_sdk.errors import ConfigError


@pytest.mark.parametrize(
    ("worker", "adapter", "message"),
    [
        ("iii-pubsub", {"name": "redis", "config": {"url": "x"}}, r"adapter\.config\.url: unknown"),
        (
            "iii-pubsub",
            {"name": "redis", "config": {"redis_url": 5}},
            r"adapter\.config\.redis_url: expected str",
        ),
        ("iii-state", {"name": "redis", "config": {"url": "x"}}, r"adapter\.config\.url: unknown"),
        ("iii-state", {"name": "kv", "config": {"bogus": 1}}, r"adapter\.config\.bogus: unknown"),
        ("iii-state", {"name": "file", "config": {"file": "x"}}, r"adapter\.config\.file: unknown"),
    ],
)
async def test_bad_adapter_block_is_a_config_error(
    worker: str, adapter: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=r"workers\[1\]\.config\." + message):
        async with start_engine(workers=[{"name": worker, "config": {"adapter": adapter}}]):
            pass
