"""The run loop: rep -> scenario -> cell, fresh processes per cell, drift hits all alike."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.cells import Budget, Cell, Context, Metrics
from bench.report import Report
from bench.scenarios import NOT_IN_HARNESS, SCENARIOS, Scenario, by_name
from bench.scenarios.base import Results
from bench.systems import Options

QUICK = Budget(warmup=0.2, duration=0.8, max_ops=100_000)
FULL = Budget(warmup=0.5, duration=3.0, max_ops=1_000_000)
CELL_TIMEOUT = 180.0
CONFIRM_REPS = 2


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


class _Runner:
    """Runs reps of scenarios into one report; cells are shared within a rep."""

    def __init__(self, ctx: Context, report: Report) -> None:
        self.ctx = ctx
        self.report = report
        self.started = time.monotonic()

    async def rep(self, scenarios: list[Scenario], label: str) -> None:
        """One repetition: every scenario in order, each cell on fresh processes."""
        results: Results = {}
        report = self.report
        for scenario in scenarios:
            note = scenario.skip()
            if note:
                report.skipped[scenario.name] = (
                    note if note.startswith("skipped") else f"skipped: {note}"
                )
                continue
            for cell in scenario.cells(self.ctx):
                if cell.key not in results:
                    results[cell.key] = await self._cell(cell, f"{label} {scenario.name}")
            report.add_rows(scenario.name, scenario.rows(results))

    async def _cell(self, cell: Cell, label: str) -> Metrics | BaseException:
        _log(f"[{label} {time.monotonic() - self.started:6.1f}s] {cell.key}")
        try:
            async with asyncio.timeout(CELL_TIMEOUT):
                metrics = await cell.run(self.ctx)
        except Exception as exc:
            self.report.errors[cell.key] = f"{type(exc).__name__}: {exc}".strip()
            _log(f"    error: {self.report.errors[cell.key]}")
            return exc
        self.report.cells[cell.key].append(metrics)
        return metrics


def run(args: argparse.Namespace) -> Report:
    """Run the selected scenarios ``args.reps`` times and return the report.

    With ``--quick``, a scenario with a row below half its target gets ``CONFIRM_REPS`` more
    reps before the verdict (the median of all of them): one short rep on a shared 2-core
    machine can swing a ratio by 3x, and a smoke that fails must fail again.
    """
    return run_loops(args, [args.uvloop])[0]


def loop_factory(uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """``uvloop.new_event_loop`` for a uvloop run (the load client then runs on it too), or
    None: asyncio's default."""
    if not uvloop:
        return None
    import uvloop as uv

    return uv.new_event_loop


def run_loops(args: argparse.Namespace, loops: list[bool]) -> list[Report]:
    """Like :func:`run`, once per event loop (``True`` = uvloop), one report each.

    The loops are interleaved within each rep (rep -> loop -> scenario -> cell), so drift on a
    shared machine hits both alike. Each loop's reps run on an event loop of that kind in this
    process too, so the load client is on the same loop as the processes it drives.
    """
    scenarios, missing = select(args.scenario)
    budget = QUICK if args.quick else FULL
    if args.duration:
        budget = Budget(budget.warmup, args.duration, budget.max_ops)
    reps = args.reps or (1 if args.quick else 5)
    logdir = Path(tempfile.mkdtemp(prefix="iii-bench-"))
    _log(f"bench: logs in {logdir} (removed after a run without errors, unless --profile)")
    runners: list[tuple[_Runner, asyncio.Runner]] = []
    many = len(loops) > 1
    with contextlib.ExitStack() as stack:
        for uvloop in loops:
            report = Report(
                uvloop=uvloop, reps=reps, quick=args.quick, scenarios=scenarios, not_here=missing
            )
            ctx = Context(Options(uvloop, logdir, args.profile), budget, args.quick)
            loop = stack.enter_context(asyncio.Runner(loop_factory=loop_factory(uvloop)))
            runners.append((_Runner(ctx, report), loop))
        for rep in range(reps):
            for runner, loop in runners:
                loop.run(runner.rep(scenarios, f"rep {rep + 1}/{reps}{_loop_tag(runner, many)}"))
        for runner, loop in runners:
            _confirm(runner, loop, scenarios, args.quick, _loop_tag(runner, many))
    _log(f"bench: done in {time.monotonic() - runners[0][0].started:.1f}s")
    reports = [runner.report for runner, _ in runners]
    if any(r.errors for r in reports) or args.profile:
        _log(f"bench: logs kept in {logdir}")
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    return reports


def _confirm(
    runner: _Runner, loop: asyncio.Runner, scenarios: list[Scenario], quick: bool, tag: str
) -> None:
    """``--quick``: ``CONFIRM_REPS`` more reps of the scenarios with a row below half."""
    report = runner.report
    suspects = [s for s in scenarios if s.name in report.below_half()] if quick else []
    report.confirmed = [s.name for s in suspects]
    report.confirm_reps = CONFIRM_REPS
    for rep in range(CONFIRM_REPS if suspects else 0):
        names = " ".join(s.name for s in suspects)
        loop.run(runner.rep(suspects, f"confirm {rep + 1}/{CONFIRM_REPS} ({names}){tag}"))


def _loop_tag(runner: _Runner, many: bool) -> str:
    """`` asyncio`` / `` uvloop`` in progress lines of a run with several loops."""
    if not many:
        return ""
    return " uvloop" if runner.ctx.opts.uvloop else " asyncio"
