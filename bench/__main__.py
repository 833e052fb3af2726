"""``python -m bench``: run the benchmark scenarios and print ratio and absolute tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.report import side_by_side, write_json
from bench.runner import run_loops


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
        "14 15 16 17 18 19",
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
    parser.add_argument(
        "--loops",
        type=_loops,
        metavar="LOOPS",
        help="run everything once per event loop, interleaved, e.g. asyncio,uvloop; prints each "
        "loop's tables, then the targets side by side",
    )
    return parser.parse_args(argv)


def _loops(text: str) -> list[bool]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - {"asyncio", "uvloop"})
    if unknown or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected asyncio and/or uvloop, got {text!r}")
    return [name == "uvloop" for name in names]


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
    loops = args.loops or [args.uvloop]
    if any(loops):
        import uvloop  # noqa: F401  (fail early when it is not installed)
    reports = run_loops(args, loops)
    for report in reports:
        print(report.render(), flush=True)
    if len(reports) > 1:
        print(side_by_side(reports), flush=True)
    if args.json:
        write_json(reports, args.json)
    status = 0
    for report in reports:
        fail, half, missing = report.failures()
        print(
            f"\n{report.loop_name}: {fail} row(s) below target, {half} below half of it, "
            f"{missing} without a value"
        )
        if missing:
            status = 2
        elif args.quick and half and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
