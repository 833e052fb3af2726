"""Fixtures for the iii-state end-to-end tests: an engine running iii-state, SDK workers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.plugins.state.state_helpers import Recorder

MEMORY = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}


@pytest.fixture
async def state_engine() -> AsyncIterator[Engine]:
    """An engine running iii-state on the memory adapter."""
    async with start_engine(workers=[MEMORY]) as engine:
        yield engine


@pytest.fixture
async def client(state_engine: Engine, iii_worker: Callable[..., Awaitable[Worker]]) -> Worker:
    """An SDK worker connected to ``state_engine``."""
    return await iii_worker(state_engine, name="state-client")


@pytest.fixture
def recorder() -> Recorder:
    """A fresh :class:`Recorder`."""
    return Recorder()
