"""Serving a worker until SIGINT/SIGTERM (:meth:`iii_sdk.Worker.run_forever`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Protocol

from iii_sdk.eventloop import loop_factory

__all__ = ["Servable", "run_forever"]


class Servable(Protocol):
    """What :func:`run_forever` needs of a worker."""

    async def serve_forever(self) -> None:
        """Connect and serve until the connection ends for good."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    return loop_factory()


async def _serve(worker: Servable) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    serving = asyncio.ensure_future(worker.serve_forever())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()  # a fatal rejection or a lost connection without reconnect
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        serving.cancel()
        stopping.cancel()
        await worker.close()


def run_forever(worker: Servable, *, use_uvloop: bool | None = None) -> None:
    """Connect ``worker`` and serve until SIGINT or SIGTERM, then close it (blocking).

    Raises if the worker cannot go on (its name is taken, or the connection ended without
    ``reconnect``), so a supervisor sees a non-zero exit.

    uvloop is used when installed, unless ``use_uvloop`` is False.
    """
    factory = _loop_factory() if use_uvloop is not False else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(worker))
