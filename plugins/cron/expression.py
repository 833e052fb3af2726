"""Cron expressions with upstream's semantics (workers.md §7.2), evaluated by croniter.

The accepted format is the one of upstream's parser (the Rust ``cron`` crate 0.15)::

    sec  min  hour  day-of-month  month  day-of-week  [year]

* 6 fields, or 7 with a trailing year; 5-field crontab lines are rejected (the message shows
  the 6-field form: a ``0`` seconds field in front).
* ``*``, lists ``a,b``, ranges ``a-b`` (``a <= b``), steps ``*/n``, ``a-b/n``, ``a/n``; ``?``
  in the two day fields only; month and weekday names (``JAN``, ``Mon-Fri``, ``Thurs``, any
  case); no ``L``, ``W``, ``#`` or ``H``.
* Day-of-week runs 1-7 with **1 = Sunday** (``0`` is out of range).
* When both day fields are restricted a day must match both (the crate intersects them; Vixie
  cron would take either).
* Shorthands ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@hourly``.

Where croniter differs, the input is adapted before croniter sees it: names become numbers,
weekday numbers are shifted to croniter's 0-6 with Sunday = 0, shorthands are expanded here,
the day fields are intersected (``day_or=False``), and the year field is applied here because
croniter 7.0 fails to find some matches with one (``0 0 0 1 1 * 2028``).

Beyond upstream (UTC only), a schedule may carry an IANA ``timezone``. Fields then describe
local wall-clock time: a local time skipped by a spring-forward change fires at the first
instant after the gap; in the hour repeated by a fall-back change, a job whose hour field is
``*`` runs in both passes (it follows elapsed time) and any other job runs only in the first.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

__all__ = ["SHORTHANDS", "CronExpressionError", "CronSchedule", "parse_expression"]

SHORTHANDS: Final = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 1",
    "@daily": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
FIELD_NAMES: Final = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_BOUNDS: Final = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2099))
_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("sun", "sunday"),
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
        ),
        start=1,
    )
    for name in names
}
# One list item: a base (``*``, ``?``, a value or ``a-b``) and an optional ``/step``.
_ITEM: Final = re.compile(r"^(?:(\*|\?)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?$")
# Far enough to find any match of a valid schedule (leap days, year lists), short enough to stop.
_SEARCH_LIMIT_YEARS: Final = 130
_MAX_STEPS: Final = 20_000
# Next fire times shared by schedules with the same key, per second of "now".
_SHARED: dict[tuple[object, int], datetime | None] = {}
_SHARED_MAX: Final = 4096
_MISSING: Final = object()


class CronExpressionError(ValueError):
    """The expression is not valid; the text says why."""


@dataclass(frozen=True)
class _Item:
    wildcard: bool
    start: int
    end: int
    step: int | None


class CronSchedule:
    """A parsed expression; :meth:`next_after` gives fire times (aware datetimes).

    Instances are cheap to query repeatedly (they keep one croniter); not thread-safe.
    """

    def __init__(self, expression: str, timezone: str | None = None) -> None:
        self.expression = expression
        self.timezone = timezone
        self.tz: tzinfo = _zone(timezone) if timezone else UTC
        fields = _split(expression)
        translated = [_translate(index, field) for index, field in enumerate(fields[:6])]
        self._years: frozenset[int] | None = None
        if len(fields) == 7 and fields[6] != "*":
            self._years = _years(fields[6])
        # Hours given as ``*`` follow elapsed time in a repeated (fall-back) hour.
        self._every_hour = fields[2] == "*"
        self._croniter_expression = " ".join(translated)
        years = None if self._years is None else tuple(sorted(self._years))
        self._key = (self._croniter_expression, years, self._every_hour, timezone)
        try:
            self._iter = croniter(
                self._croniter_expression,
                datetime(2000, 1, 1, tzinfo=self.tz),
                second_at_beginning=True,
                day_or=False,
            )
        except CroniterError as exc:
            raise CronExpressionError(_croniter_message(exc)) from exc

    def next_after(self, when: datetime) -> datetime | None:
        """The first fire time strictly after ``when`` (aware), in the schedule's zone.

        ``None`` when the schedule never fires again (``0 0 0 30 2 *``, a past year). Fire
        times are whole seconds, so the answer only depends on the second ``when`` falls in:
        schedules with the same expression and zone share answers (1,000 jobs on
        ``* * * * * *`` compute each next time once).
        """
        when = when.astimezone(UTC)
        key = (self._key, int(when.timestamp() // 1))
        found = _SHARED.get(key, _MISSING)
        if found is _MISSING:
            found = self._compute(when)
            if len(_SHARED) >= _SHARED_MAX:
                _SHARED.clear()
            _SHARED[key] = found
        return cast("datetime | None", found)

    def _compute(self, when: datetime) -> datetime | None:
        # Aware datetimes sharing a tzinfo compare by wall time (ignoring fold): compare in UTC.
        local = when.astimezone(self.tz)
        start = local
        if _repeated(local):
            # croniter only walks into the second pass of a repeated hour when it iterates
            # through the change: start an hour before it and step forward.
            start = local.replace(fold=0) - timedelta(hours=1)
        self._restart(start)
        limit = local.year + _SEARCH_LIMIT_YEARS
        for _ in range(_MAX_STEPS):
            try:
                candidate: datetime = self._iter.get_next(datetime)
            except CroniterBadDateError:
                return None
            if candidate.year >= limit:
                break
            if self._years is not None and candidate.year not in self._years:
                year = _first_year(self._years, candidate.year)
                if year is None:
                    break
                # Restart just before the first second of the next allowed year.
                self._restart(datetime(year, 1, 1, tzinfo=self.tz) - timedelta(microseconds=1))
                continue
            if candidate.astimezone(UTC) <= when:  # whole seconds; stepping through a change
                continue
            if candidate.fold == 1 and not self._every_hour and _repeated(candidate):
                continue
            return candidate
        return None

    def _restart(self, start: datetime) -> None:
        self._iter.set_current(start, force=True)
        if self._years is not None:
            year = _first_year(self._years, start.year)
            if year is not None and year > start.year:
                first = datetime(year, 1, 1, tzinfo=self.tz) - timedelta(microseconds=1)
                self._iter.set_current(first, force=True)

    def upcoming(self, when: datetime, count: int) -> list[datetime]:
        """The next ``count`` fire times after ``when`` (fewer if the schedule ends)."""
        found: list[datetime] = []
        current = when
        while len(found) < count:
            nxt = self.next_after(current)
            if nxt is None:
                break
            found.append(nxt)
            current = nxt
        return found


@functools.lru_cache(maxsize=1024)
def parse_expression(expression: str, timezone: str | None = None) -> CronSchedule:
    """Parse ``expression``; raise :class:`CronExpressionError` saying what is wrong.

    Cached: jobs with the same expression and zone share one schedule (its answers depend on
    "now" only, so sharing is safe on one event loop).
    """
    return CronSchedule(expression, timezone)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronExpressionError(f"unknown time zone {name!r} (expected an IANA name)") from exc


def _split(expression: str) -> list[str]:
    text = expression.strip()
    if text.startswith("@"):
        expanded = SHORTHANDS.get(text)
        if expanded is None:
            names = ", ".join(SHORTHANDS)
            raise CronExpressionError(f"unknown shorthand {text!r} (expected one of {names})")
        return expanded.split()
    fields = text.split()
    if len(fields) == 5:
        raise CronExpressionError(
            "5-field (crontab) expressions are not supported: the format is 6 fields "
            "'sec min hour day-of-month month day-of-week' (or 7 with a year); "
            f"add a seconds field in front: '0 {' '.join(fields)}'"
        )
    if len(fields) not in (6, 7):
        raise CronExpressionError(
            f"expected 6 fields 'sec min hour day-of-month month day-of-week' "
            f"(or 7 with a trailing year), got {len(fields)}"
        )
    return fields


def _items(index: int, field: str) -> list[_Item]:
    """Validate one field and split it into items with numeric bounds (names resolved)."""
    name = FIELD_NAMES[index]
    low, high = _BOUNDS[index]
    items = []
    for part in field.split(","):
        match = _ITEM.match(part)
        if match is None:
            raise CronExpressionError(f"invalid {name} field {field!r}")
        any_, first, last, step = match.groups()
        if any_ == "?" and index not in (3, 5):
            raise CronExpressionError(f"'?' is only allowed in the day fields, not in {name}")
        if step is not None and int(step) == 0:
            raise CronExpressionError(f"step 0 in {name} field {field!r}")
        if any_:
            items.append(_Item(True, low, high, int(step) if step else None))
            continue
        if step is not None and last is None and not first.isdigit():
            raise CronExpressionError(f"a name cannot take a step in {name} field {field!r}")
        start = _value(index, first)
        end = start if last is None else _value(index, last)
        if start > end:
            raise CronExpressionError(f"invalid range {part!r} in {name}: {start} > {end}")
        if step is not None and last is None:
            end = high  # ``a/n``: from a to the field's maximum
        items.append(_Item(False, start, end, int(step) if step else None))
    return items


def _value(index: int, token: str) -> int:
    name = FIELD_NAMES[index]
    low, high = _BOUNDS[index]
    if token.isdigit():
        number = int(token)
    else:
        names = _MONTHS if index == 4 else _WEEKDAYS if index == 5 else None
        if names is None or token.lower() not in names:
            raise CronExpressionError(f"invalid {name} value {token!r}")
        number = names[token.lower()]
    if not low <= number <= high:
        hint = " (1-7, 1 = Sunday)" if index == 5 else f" ({low}-{high})"
        raise CronExpressionError(f"{name} value {number} is out of range{hint}")
    return number


def _translate(index: int, field: str) -> str:
    """The field as croniter reads it (numbers only; weekdays shifted to 0-6, Sunday = 0)."""
    shift = 1 if index == 5 else 0
    parts = []
    for item in _items(index, field):
        if item.wildcard:
            parts.append("*" if item.step is None else f"*/{item.step}")
        elif item.start == item.end:
            parts.append(str(item.start - shift))  # a step on a single value changes nothing
        else:
            base = f"{item.start - shift}-{item.end - shift}"
            parts.append(base if item.step is None else f"{base}/{item.step}")
    return ",".join(parts)


def _years(field: str) -> frozenset[int]:
    years: set[int] = set()
    for item in _items(6, field):
        years.update(range(item.start, item.end + 1, item.step or 1))
    return frozenset(years)


def _first_year(years: frozenset[int], year: int) -> int | None:
    later = [y for y in years if y >= year]
    return min(later) if later else None


def _repeated(moment: datetime) -> bool:
    """True when the wall time of ``moment`` also occurred an hour (or so) earlier."""
    other = moment.replace(fold=1 - moment.fold)
    return other.utcoffset() != moment.utcoffset()


def _croniter_message(exc: CroniterError) -> str:
    # croniter quotes the expression in its own field order; keep only the reason.
    text = str(exc)
    return re.sub(r"^\[[^\]]*\]\s*", "", text) or type(exc).__name__
