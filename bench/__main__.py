"""``python -m bench``: run the benchmark scenarios and print ratio and absolute tables."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.runner import run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark iii-py against in-repo floors (see docs/benchmarks.md).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI smoke: short cells, 1 rep; exit 1 when a ratio is below half its target",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable): floors 1 1b 1c 2 3 5 5b 6 7 8 9 10 11 12 13 "
        "14 15 16 17 18",
    )
    parser.add_argument("--reps", type=int, default=0, help="repetitions (default 5, quick 1)")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds per measured cell")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the engine under cProfile (slower); .prof files land in the log directory",
    )
    parser.add_argument(
        "--uvloop", action="store_true", help="run floors, peers and systems under test with uvloop"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run and print; the exit status follows the rules in docs/benchmarks.md."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["soak"]:  # python -m bench soak --minutes N (bench/soak.py)
        from bench.soak import main as soak

        return soak(argv[1:])
    if argv[:1] == ["scale"]:  # python -m bench scale [--callers 1,4,16,64] (bench/scale.py)
        from bench.scale import main as scale

        return scale(argv[1:])
    args = parse_args(argv)
    if args.uvloop:
        import uvloop  # noqa: F401  (fail early when it is not installed)
    report = asyncio.run(run(args))
    print(report.render(), flush=True)
    if args.json:
        report.write_json(args.json)
    fail, half, missing = report.failures()
    print(f"\n{fail} row(s) below target, {half} below half of it, {missing} without a value")
    if missing:
        return 2
    if args.quick and half:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
