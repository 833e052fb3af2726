"""The bench's two-loop report (``--loops asyncio,uvloop``) and rows skipped with a note.

Pure table logic: no process is started (the harness itself is exercised end to end by
``test_bench_smoke.py``).
"""

from __future__ import annotations

import pytest

from bench.__main__ import parse_args
from bench.report import Report, side_by_side
from bench.scenarios.base import Row, Scenario, Target


def _scenario() -> Scenario:
    return Scenario("1", "sync invoke", lambda ctx: [], lambda r: [])


def _report(uvloop: bool, value: float) -> Report:
    report = Report(uvloop=uvloop, reps=1, quick=True, scenarios=[_scenario()])
    report.add_rows(
        "1",
        [
            Row("engine / relay rate", value, Target(">=", 0.8)),
            Row("optional client / relay (info)", None, skip="skipped: its venv is missing"),
        ],
    )
    return report


def test_loops_option_parses_both_names_in_order() -> None:
    assert parse_args(["--loops", "asyncio,uvloop"]).loops == [False, True]
    assert parse_args(["--loops", "uvloop"]).loops == [True]
    assert parse_args([]).loops is None


@pytest.mark.parametrize("text", ["asyncio,trio", "asyncio,asyncio", ","])
def test_loops_option_rejects_unknown_or_repeated_loops(text: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--loops", text])


def test_side_by_side_puts_each_loops_verdict_on_one_line() -> None:
    table = side_by_side([_report(False, 0.7), _report(True, 0.9)])
    line = next(row for row in table.splitlines() if "engine / relay rate" in row)
    assert line.index("0.700 FAIL") < line.index("0.900 PASS")
    assert line.rstrip().endswith(">= 0.8")
    assert "asyncio" in table and "uvloop" in table


def test_a_skipped_row_prints_its_note_and_is_not_missing() -> None:
    report = _report(False, 0.9)
    assert report.failures() == (0, 0, 0)
    assert "skipped: its venv is missing" in report.render()
    assert "skipped" in side_by_side([report, _report(True, 0.9)])


def test_loop_names_label_each_report() -> None:
    assert [r.loop_name for r in (_report(False, 1.0), _report(True, 1.0))] == [
        "asyncio",
        "uvloop",
    ]
