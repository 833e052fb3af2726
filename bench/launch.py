"""Run a module as ``__main__``, optionally with uvloop installed as the event loop policy.

``python -m bench.launch [--uvloop] MODULE ARGS...``: every bench process (floors, peers and the
engine) starts through here, so ``--uvloop`` switches all of them alike.
"""

from __future__ import annotations

import asyncio
import runpy
import sys


def main() -> None:
    """Install uvloop when asked, then run the named module with the remaining arguments."""
    argv = sys.argv[1:]
    if argv and argv[0] == "--uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        argv = argv[1:]
    else:
        # The engine switches to uvloop whenever it can import it; hiding it keeps every process
        # of a run on the same loop, so ratios compare like with like.
        sys.modules["uvloop"] = None  # type: ignore[assignment]
    if not argv:
        raise SystemExit("usage: python -m bench.launch [--uvloop] MODULE [ARGS...]")
    sys.argv = argv
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
