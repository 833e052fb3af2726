"""Run a module as ``__main__``, optionally with uvloop or under cProfile.

``python -m bench.launch [--uvloop] [--cprofile FILE] MODULE ARGS...``: every bench process
(floors, peers and the engine) starts through here, so ``--uvloop`` switches all of them alike.
With ``--cprofile`` the stats are written to FILE when the module exits (SIGTERM included).
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import runpy
import signal
import sys


def _run(module: str) -> None:
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _profiled(module: str, out: str) -> None:
    profiler = cProfile.Profile()

    def on_term(signum: int, frame: object) -> None:
        raise SystemExit(0)

    # The engine installs its own SIGTERM handler inside its loop; ours only runs if it does not.
    signal.signal(signal.SIGTERM, on_term)
    profiler.enable()
    try:
        _run(module)
    finally:
        profiler.disable()
        profiler.dump_stats(out)


def main() -> None:
    """Install uvloop or hide it, then run the named module with the remaining arguments."""
    argv = sys.argv[1:]
    if argv and argv[0] == "--uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        argv = argv[1:]
    else:
        # The engine switches to uvloop whenever it can import it; hiding it keeps every process
        # of a run on the same loop, so ratios compare like with like.
        sys.modules["uvloop"] = None  # type: ignore[assignment]
        os.environ["III_LOOP"] = "asyncio"  # an inherited III_LOOP=uvloop would now fail
    profile_to = ""
    if len(argv) > 1 and argv[0] == "--cprofile":
        profile_to, argv = argv[1], argv[2:]
    if not argv:
        raise SystemExit("usage: python -m bench.launch [--uvloop] [--cprofile FILE] MODULE ...")
    sys.argv = argv
    if profile_to:
        _profiled(argv[0], profile_to)
    else:
        _run(argv[0])


if __name__ == "__main__":
    main()
