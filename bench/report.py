"""Collect rows and cell metrics across repetitions; print the tables; write JSON."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cells import Metrics
from bench.scenarios import NOT_IN_HARNESS, Row, Scenario
from bench.stats import fmt, summarize

ABSOLUTE_COLUMNS = [
    ("rate", "ops/s"),
    ("p50_us", "p50 us"),
    ("p99_us", "p99 us"),
    ("cpu_us", "CPU us/op"),
    ("client_cpu_us", "client us/op"),
    ("rss_mb", "RSS MB"),
]
HALF = 0.5


def machine(uvloop: bool) -> dict[str, str]:
    """Cores, CPU model, Python and event loop, for labelling absolute figures."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    loop = "asyncio"
    if uvloop:
        loop = f"uvloop {importlib.metadata.version('uvloop')}"
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "loop": loop,
        "os": f"{platform.system()} {platform.release()}",
        "load": " ".join(f"{v:.1f}" for v in os.getloadavg()),
    }


@dataclass
class Report:
    """Everything measured in a run."""

    uvloop: bool
    reps: int
    quick: bool
    scenarios: list[Scenario] = field(default_factory=list)
    rows: dict[str, dict[str, tuple[Row, list[float | None]]]] = field(default_factory=dict)
    cells: dict[str, list[Metrics]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    not_here: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    """Scenarios given ``confirm_reps`` more reps by ``--quick``."""
    confirm_reps: int = 0

    @property
    def loop_name(self) -> str:
        """``asyncio`` or ``uvloop``."""
        return "uvloop" if self.uvloop else "asyncio"

    def add_rows(self, scenario: str, rows: list[Row]) -> None:
        """Record one repetition's rows of a scenario."""
        per = self.rows.setdefault(scenario, {})
        for row in rows:
            per.setdefault(row.label, (row, []))[1].append(row.value)

    def below_half(self) -> set[str]:
        """Names of scenarios with a row whose median is below half its target."""
        names: set[str] = set()
        for name, per in self.rows.items():
            for row, values in per.values():
                got = [v for v in values if v is not None]
                if got and row.target and row.target.score(summarize(got).median) < HALF:
                    names.add(name)
        return names

    def failures(self) -> tuple[int, int, int]:
        """(rows failing their target, rows below half their target, rows without a value)."""
        fail = half = missing = 0
        for per in self.rows.values():
            for row, values in per.values():
                got = [v for v in values if v is not None]
                if not got and row.skip:
                    continue
                if not got:
                    missing += 1
                    continue
                if row.target is None:
                    continue
                score = row.target.score(summarize(got).median)
                fail += score < 1
                half += score < HALF
        return fail, half, missing

    def render(self) -> str:
        """The ratio table, then absolute figures labelled with the machine, then errors."""
        m = machine(self.uvloop)
        lines = ["", "Targets (ratio = median of per-rep ratios [min-max])", ""]
        header = f"{'#':<7}{'measure':<66}{'value':<24}{'target':<10}result"
        lines += [header, "-" * len(header)]
        for sc in self.scenarios:
            if sc.name in self.skipped:
                lines.append(f"{sc.name:<7}{sc.title:<66}{self.skipped[sc.name]}")
                continue
            for row, values in self.rows.get(sc.name, {}).values():
                lines.append(f"{sc.name:<7}{row.label:<66}{_verdict(row, values)}")
        for name in self.not_here:
            lines.append(f"{name:<7}{NOT_IN_HARNESS[name]:<66}not in this harness yet")
        lines += [
            "",
            f"Absolute figures: {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
            f"loop {m['loop']}, {m['os']}, load average at the end {m['load']}; "
            f"{self.reps} rep(s){' --quick' if self.quick else ''}{self._confirm_note()}",
            "(medians over reps; CPU and RSS are the measured router process: relay, echo "
            "server, bare HTTP server, nats-server or engine)",
            "",
        ]
        head = f"{'cell':<52}" + "".join(f"{title:>13}" for _, title in ABSOLUTE_COLUMNS)
        lines += [head, "-" * len(head)]
        for key, runs in self.cells.items():
            lines.append(
                f"{key:<52}"
                + "".join(_cell(runs, name) for name, _ in ABSOLUTE_COLUMNS)
                + _extras(runs)
            )
        if self.errors:
            lines += ["", "Errors"]
            lines += [f"  {key}: {text}" for key, text in self.errors.items()]
        return "\n".join(lines)

    def _confirm_note(self) -> str:
        if not self.confirmed:
            return ""
        return f" (+{self.confirm_reps} confirmation reps for {', '.join(self.confirmed)})"

    def to_json(self) -> dict[str, Any]:
        """A machine-readable dump of the run."""
        return {
            "machine": machine(self.uvloop),
            "reps": self.reps,
            "quick": self.quick,
            "rows": [
                {
                    "scenario": name,
                    "label": row.label,
                    "values": values,
                    "unit": row.unit,
                    "target": str(row.target) if row.target else None,
                }
                for name, per in self.rows.items()
                for row, values in per.values()
            ],
            "cells": dict(self.cells),
            "errors": self.errors,
            "skipped": self.skipped,
        }

    def write_json(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        path.write_text(json.dumps(self.to_json(), indent=2))


def side_by_side(reports: list[Report]) -> str:
    """The targets of several reports of one run (one per event loop) next to each other."""
    names = [r.loop_name for r in reports]
    lines = ["", f"Targets by event loop ({' | '.join(names)}; median [min-max])", ""]
    header = f"{'#':<7}{'measure':<66}" + "".join(f"{n:<30}" for n in names) + "target"
    lines += [header, "-" * len(header)]
    first = reports[0]
    for sc in first.scenarios:
        skipped = [r.skipped.get(sc.name) for r in reports]
        if all(skipped):
            lines.append(f"{sc.name:<7}{sc.title:<66}{skipped[0]}")
            continue
        for label, (row, _) in first.rows.get(sc.name, {}).items():
            cells = []
            for report in reports:
                got = report.rows.get(sc.name, {}).get(label)
                cells.append(_short(row, got[1] if got else []))
            target = f"{row.target!s}" if row.target else "(info)"
            lines.append(f"{sc.name:<7}{label:<66}" + "".join(f"{c:<30}" for c in cells) + target)
    return "\n".join(lines)


def _short(row: Row, values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "skipped" if row.skip else "error"
    summary = summarize(got)
    text = f"{summary}{'' if row.unit == 'x' else ' ' + row.unit}"
    if row.target is None:
        return text
    return f"{text} {'PASS' if row.target.score(summary.median) >= 1 else 'FAIL'}"


def write_json(reports: list[Report], path: Path) -> None:
    """One report as :meth:`Report.to_json`; several as ``{"loops": {name: report}}``."""
    if len(reports) == 1:
        reports[0].write_json(path)
        return
    data = {"loops": {r.loop_name: r.to_json() for r in reports}}
    path.write_text(json.dumps(data, indent=2))


def _verdict(row: Row, values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got and row.skip:
        return row.skip
    if not got:
        return f"{'error':<24}{row.target or ''!s:<10}ERROR"
    summary = summarize(got)
    unit = "" if row.unit == "x" else f" {row.unit}"
    text = f"{summary}{unit}"
    if row.target is None:
        return f"{text:<24}{'(info)':<10}"
    verdict = "PASS" if row.target.score(summary.median) >= 1 else "FAIL"
    return f"{text:<24}{row.target!s:<10}{verdict}"


def _cell(runs: list[Metrics], name: str) -> str:
    values = [r[name] for r in runs if name in r]
    return f"{fmt(summarize(values).median):>13}" if values else f"{'':>13}"


def _extras(runs: list[Metrics]) -> str:
    known = {name for name, _ in ABSOLUTE_COLUMNS} | {"ops"}
    extra = sorted({k for r in runs for k in r} - known)
    return "".join(f"  {k}={fmt(summarize([r[k] for r in runs if k in r]).median)}" for k in extra)
