"""Scenario, row and target types, and helpers to compute ratios from cell metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench.cells import Cell, Context, Metrics

Results = dict[str, Metrics | BaseException]


@dataclass(frozen=True)
class Target:
    """``measured >= value`` (op ``>=``) or ``measured <= value`` (op ``<=``)."""

    op: str
    value: float

    def score(self, measured: float) -> float:
        """1.0 means exactly on target; above 1 passes, below 0.5 is 'below half its target'."""
        if self.op == ">=":
            return measured / self.value
        return self.value / measured if measured > 0 else float("inf")

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class Row:
    """One line of the result table; ``value`` None means a cell it needs failed."""

    label: str
    value: float | None
    target: Target | None = None
    unit: str = "x"
    skip: str = ""
    """Why an optional row (no target) has no value: printed instead of a figure, and the row
    does not count as missing."""


@dataclass(frozen=True)
class Scenario:
    """A targets-table row: the cells it needs and how to turn their metrics into rows."""

    name: str
    title: str
    cells: Callable[[Context], list[Cell]]
    rows: Callable[[Results], list[Row]]
    skip: Callable[[], str | None] = field(default=lambda: None)


def metric(results: Results, key: str, name: str) -> float | None:
    """A metric of a cell, or None when the cell failed or lacks it."""
    got = results.get(key)
    if isinstance(got, dict):
        return got.get(name)
    return None


def ratio(results: Results, num: tuple[str, str], den: tuple[str, str]) -> float | None:
    """``metric(num) / metric(den)``, None if either is missing or the denominator is 0."""
    a = metric(results, *num)
    b = metric(results, *den)
    if a is None or not b:
        return None
    return a / b
