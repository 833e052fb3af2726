"""The ``iii`` command (also ``python -m iii_engine``).

``iii`` with no command runs the engine: the config is ``--config PATH``, else ``$III_CONFIG``,
else ``./config.yaml`` when it exists, else the embedded defaults (no file is created). The engine
runs until SIGINT/SIGTERM/SIGHUP and then exits 0. A config read from a file is hot-reloaded
(:class:`~iii_engine.config.watch.ConfigWatcher` hands each change to ``Engine.apply_reload``); an
invalid edit stops the engine and exits 1. Subcommands: ``trigger`` (alias ``t``),
``check-config PATH``, ``plugins``, ``status``, ``queue``, ``cron ls``, ``traces``, ``logs``
(:mod:`.observe`), ``console``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from iii_engine._version import ENGINE_VERSION
from iii_engine.cli import console as console_cli
from iii_engine.cli import cron as cron_cli
from iii_engine.cli import observe as observe_cli
from iii_engine.cli import queue as queue_cli
from iii_engine.cli import trigger as trigger_cli
from iii_engine.cli._logsetup import LEVELS, configure_logging
from iii_engine.cli.banner import banner, print_when_ready
from iii_engine.config.schema import EngineConfig, default_config, load_config
from iii_sdk.errors import ConfigError
from iii_sdk.eventloop import loop_factory

if TYPE_CHECKING:
    from iii_engine.engine import Engine

__all__ = [
    "banner",
    "build_parser",
    "main",
    "resolve_config",
]

DEFAULT_CONFIG: Final = "config.yaml"
_TRIGGER_COMMANDS: Final = frozenset({"trigger", "t"})
_VALUE_OPTIONS: Final = frozenset({"--config", "-c", "--log-level", "--log-format"})
"""Global options that take a separate value (skipped when finding the command)."""
YOUNG_GC_THRESHOLD: Final = 10_000
"""Allocations between young-generation collections while serving (Python's default: 700)."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser (``trigger`` is parsed by :mod:`iii_engine.cli.trigger`)."""
    parser = argparse.ArgumentParser(
        prog="iii",
        description="The iii engine (Python). Without a command, run the engine.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "-c", "--config", metavar="PATH", help="config file (env III_CONFIG; default config.yaml)"
    )
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=os.environ.get("III_LOG_LEVEL", "info").lower(),
        help="log level (env III_LOG_LEVEL; default info)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("III_LOG_FORMAT", "text"),
        help="log line format (env III_LOG_FORMAT; default text)",
    )
    parser.add_argument("-v", "--version", action="version", version=f"iii {ENGINE_VERSION}")
    # Accepted for upstream compatibility (scripts pass it); this engine never checks.
    parser.add_argument("--no-update-check", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "trigger", aliases=["t"], help="invoke a function: trigger FUNCTION [KEY=VALUE ...]"
    )
    check = commands.add_parser("check-config", help="validate a config file (exit 0 or 1)")
    check.add_argument("path", type=Path, metavar="PATH")
    commands.add_parser("plugins", help="list installed plugins and the workers they provide")
    status = commands.add_parser(
        "status", help="workers, functions, trigger types and triggers of an engine"
    )
    status.add_argument("--address", default="localhost", help="engine host (default localhost)")
    status.add_argument("--port", type=int, default=49134, help="engine port (default 49134)")
    status.add_argument("--timeout-ms", type=int, default=5000, help="deadline (default 5000)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    queue_cli.add_parser(commands)
    cron_cli.add_parser(commands)
    observe_cli.add_parsers(commands)
    console_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``iii`` console script; returns the process exit code."""
    args_in = sys.argv[1:] if argv is None else argv
    index = _command_index(args_in)
    if index is not None and args_in[index] in _TRIGGER_COMMANDS:
        return trigger_cli.main(args_in[index + 1 :])
    args = build_parser().parse_args(args_in)
    configure_logging(args.log_level, args.log_format)
    if args.command == "check-config":
        from iii_engine.cli.info import check_config

        return check_config(args.path)
    if args.command == "plugins":
        from iii_engine.cli.info import list_plugins

        return list_plugins()
    if args.command == "queue":
        return queue_cli.run(args)
    if args.command == "console":
        return console_cli.run(args)
    if args.command == "status":
        from iii_engine.cli.status import status

        url = f"ws://{args.address}:{args.port}"
        try:
            return asyncio.run(status(url, args.timeout_ms / 1000, as_json=args.json))
        except KeyboardInterrupt:
            return 130
    if args.command == "cron":
        return cron_cli.run(args)
    if args.command in ("traces", "logs"):
        return observe_cli.run(args)
    try:
        config = resolve_config(args.config)
    except ConfigError as exc:
        return _error(str(exc))
    return _run(config)


def _command_index(argv: list[str]) -> int | None:
    """Index of the first positional token (the command), skipping global options."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("-"):
            return i
        i += 2 if token in _VALUE_OPTIONS else 1
    return None


def resolve_config(flag: str | None) -> EngineConfig:
    """Flag, then ``$III_CONFIG``, then ``./config.yaml`` if present, else the defaults."""
    path = flag or os.environ.get("III_CONFIG")
    if path:
        return load_config(path)
    if Path(DEFAULT_CONFIG).is_file():
        return load_config(DEFAULT_CONFIG)
    return default_config()


def _run(config: EngineConfig) -> int:
    try:
        return _run_loop(_serve(config))
    except ConfigError as exc:
        return _error(str(exc))
    except OSError as exc:  # e.g. a port already in use
        taken = exc.errno == errno.EADDRINUSE
        hint = " (another engine running? `iii status` shows what answers there)" if taken else ""
        return _error(f"cannot start the engine: {exc}{hint}")
    except Exception as exc:  # a worker failing to start, or a bug: exit 1, not a traceback
        logging.getLogger("iii.engine").debug("the engine failed", exc_info=True)
        return _error(f"the engine failed: {type(exc).__name__}: {exc} (--log-level debug: trace)")


def _run_loop(coro: Any) -> int:
    # uvloop when installed, unless III_LOOP=asyncio (see iii_sdk.eventloop).
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        value: int = runner.run(coro)
        return value


async def _serve(config: EngineConfig) -> int:
    from iii_engine.engine import Engine

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with Engine(config) as engine:
        print(banner(engine, config), flush=True)
        engine.spawn(print_when_ready(engine, config))
        # Everything loaded at start-up lives as long as the engine: keep it out of the
        # cyclic collector's full passes (they cost ~10 ms at this heap size).
        gc.freeze()
        # Every request allocates dozens of short-lived containers, almost all freed by
        # reference counting; at the default threshold (700) the young-generation pass ran
        # every few requests and walked the objects of every call still in flight, ~7 % of
        # the engine's CPU under load. A pass now runs ~14x less often and costs about the same.
        gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
        reload = _start_reload(engine, config)
        if reload is not None:
            waiters.append(reload)
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    logging.getLogger("iii.engine").info("engine stopped")
    if reload is not None and reload.done() and not reload.cancelled():
        error = reload.exception()
        if error is not None:
            # Upstream rule: a bad reload is fatal; everything was stopped on the way out.
            return _error(f"config reload failed, engine stopped: {error}")
    return 0


def _start_reload(engine: Engine, config: EngineConfig) -> asyncio.Task[None] | None:
    """Watch the config file, when there is one, and hot-reload the engine on each change."""
    if config.path is None:
        return None
    from iii_engine.config.watch import ConfigWatcher

    return asyncio.create_task(
        ConfigWatcher(config, engine.apply_reload).run(), name="config-watch"
    )


def _error(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
