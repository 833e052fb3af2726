"""The run loop: rep -> scenario -> cell, fresh processes per cell, drift hits all alike."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench.cells import Budget, Context
from bench.report import Report
from bench.scenarios import NOT_IN_HARNESS, SCENARIOS, Scenario, by_name
from bench.scenarios.base import Results
from bench.systems import Options

QUICK = Budget(warmup=0.2, duration=0.8, max_ops=100_000)
FULL = Budget(warmup=0.5, duration=3.0, max_ops=1_000_000)
CELL_TIMEOUT = 180.0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def select(names: list[str] | None) -> tuple[list[Scenario], list[str]]:
    """Scenarios to run (all by default) and the requested ones this harness lacks."""
    if not names:
        return list(SCENARIOS), sorted(NOT_IN_HARNESS)
    chosen: list[Scenario] = []
    missing: list[str] = []
    for name in names:
        scenario = by_name(name)
        if scenario is not None:
            chosen.append(scenario)
        elif name in NOT_IN_HARNESS:
            missing.append(name)
        else:
            known = ", ".join([s.name for s in SCENARIOS] + list(NOT_IN_HARNESS))
            raise SystemExit(f"unknown scenario {name!r} (known: {known})")
    return chosen, missing


async def run(args: argparse.Namespace) -> Report:
    """Run the selected scenarios ``args.reps`` times and return the report."""
    scenarios, missing = select(args.scenario)
    budget = QUICK if args.quick else FULL
    if args.duration:
        budget = Budget(budget.warmup, args.duration, budget.max_ops)
    reps = args.reps or (1 if args.quick else 5)
    report = Report(
        uvloop=args.uvloop, reps=reps, quick=args.quick, scenarios=scenarios, not_here=missing
    )
    logdir = Path(tempfile.mkdtemp(prefix="iii-bench-"))
    ctx = Context(Options(args.uvloop, logdir, args.profile), budget, args.quick)
    _log(f"bench: logs in {logdir}")
    started = time.monotonic()
    for rep in range(reps):
        results: Results = {}
        for scenario in scenarios:
            note = scenario.skip()
            if note:
                report.skipped[scenario.name] = (
                    note if note.startswith("skipped") else f"skipped: {note}"
                )
                continue
            for cell in scenario.cells(ctx):
                if cell.key in results:
                    continue
                elapsed = time.monotonic() - started
                _log(f"[rep {rep + 1}/{reps} {elapsed:6.1f}s] {scenario.name}: {cell.key}")
                try:
                    async with asyncio.timeout(CELL_TIMEOUT):
                        metrics = await cell.run(ctx)
                except Exception as exc:
                    results[cell.key] = exc
                    report.errors[cell.key] = f"{type(exc).__name__}: {exc}".strip()
                    _log(f"    error: {report.errors[cell.key]}")
                else:
                    results[cell.key] = metrics
                    report.cells[cell.key].append(metrics)
            report.add_rows(scenario.name, scenario.rows(results))
    _log(f"bench: done in {time.monotonic() - started:.1f}s")
    return report
