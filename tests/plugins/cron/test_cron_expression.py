"""Cron expressions: upstream's format (workers.md §7.2) and where croniter differs from it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from plugins.cron.expression import CronExpressionError, CronSchedule

START = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def runs(
    expression: str, count: int = 3, start: datetime = START, tz: str | None = None
) -> list[str]:
    return [t.isoformat() for t in CronSchedule(expression, tz).upcoming(start, count)]


def error(expression: str) -> str:
    with pytest.raises(CronExpressionError) as info:
        CronSchedule(expression)
    return str(info.value)


def test_seconds_field_comes_first() -> None:
    assert runs("*/5 * * * * *") == [
        "2026-01-01T00:00:05+00:00",
        "2026-01-01T00:00:10+00:00",
        "2026-01-01T00:00:15+00:00",
    ]
    # croniter alone reads a 6th field as seconds *after* the day-of-week.
    plain = croniter("*/5 * * * * *", START).get_next(datetime)
    assert plain.isoformat() == "2026-01-01T00:00:01+00:00"


def test_next_run_is_strictly_after_now() -> None:
    assert runs("* * * * * *", 1, START) == ["2026-01-01T00:00:01+00:00"]
    half = START + timedelta(microseconds=500_000)
    assert runs("* * * * * *", 1, half) == ["2026-01-01T00:00:01+00:00"]


def test_five_fields_are_rejected_with_the_six_field_form() -> None:
    message = error("*/5 * * * *")
    assert "5-field" in message
    assert "'0 */5 * * * *'" in message


@pytest.mark.parametrize("expression", ["* * *", "* * * * * * * *", "", "1"])
def test_other_field_counts_are_rejected(expression: str) -> None:
    assert "expected 6 fields" in error(expression)


def test_sunday_is_one() -> None:
    # 2026-01-04 is a Sunday; croniter's own numbering would make 1 a Monday.
    assert runs("0 0 0 * * 1", 2) == ["2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"]
    assert croniter("0 0 * * 1", START).get_next(datetime).day == 5
    assert runs("0 0 0 * * 7", 1) == ["2026-01-03T00:00:00+00:00"]  # Saturday
    assert runs("0 0 0 * * 2-6", 5) == runs("0 0 0 * * Mon-Fri", 5)
    assert runs("0 0 0 * * SUN,sat", 2) == runs("0 0 0 * * 1,7", 2)


@pytest.mark.parametrize("bad", ["0", "8"])
def test_weekday_out_of_range(bad: str) -> None:
    assert "out of range (1-7, 1 = Sunday)" in error(f"0 0 0 * * {bad}")


def test_weekday_steps_count_from_sunday() -> None:
    # */2 over 1-7 is Sun, Tue, Thu, Sat.
    days = [d[:10] for d in runs("0 0 0 * * */2", 4)]
    assert days == ["2026-01-03", "2026-01-04", "2026-01-06", "2026-01-08"]
    assert runs("0 0 0 * * 2/2", 3) == runs("0 0 0 * * Mon,Wed,Fri", 3)


def test_long_names_and_case() -> None:
    assert runs("0 0 0 * * Thurs", 1) == runs("0 0 0 * * 5", 1)
    assert runs("0 0 0 1 February *", 1) == ["2026-02-01T00:00:00+00:00"]
    assert runs("0 0 0 1 sept *", 1) == ["2026-09-01T00:00:00+00:00"]
    assert runs("0 0 0 1 JAN-MAR/2 *", 1) == ["2026-03-01T00:00:00+00:00"]


def test_ranges_lists_and_start_steps() -> None:
    assert runs("5/20 * * * * *") == [
        "2026-01-01T00:00:05+00:00",
        "2026-01-01T00:00:25+00:00",
        "2026-01-01T00:00:45+00:00",
    ]
    assert runs("0 10-20/5,59 * * * *", 4)[-1] == "2026-01-01T00:59:00+00:00"
    assert runs("3-3/5 * * * * *", 2) == ["2026-01-01T00:00:03+00:00", "2026-01-01T00:01:03+00:00"]


def test_both_day_fields_must_match() -> None:
    # Friday the 13th: the days intersect (Vixie cron, and croniter's default, take either).
    assert [d[:10] for d in runs("0 0 0 13 * 6", 2)] == ["2026-02-13", "2026-03-13"]
    assert croniter("0 0 13 * 5", START).get_next(datetime).day == 2


@pytest.mark.parametrize(
    ("shorthand", "first"),
    [
        ("@yearly", "2027-01-01T00:00:00+00:00"),
        ("@annually", "2027-01-01T00:00:00+00:00"),
        ("@monthly", "2026-02-01T00:00:00+00:00"),
        ("@weekly", "2026-01-04T00:00:00+00:00"),  # Sunday midnight
        ("@daily", "2026-01-02T00:00:00+00:00"),
        ("@hourly", "2026-01-01T01:00:00+00:00"),
    ],
)
def test_shorthands(shorthand: str, first: str) -> None:
    assert runs(shorthand, 1) == [first]


def test_unknown_shorthand() -> None:
    assert "unknown shorthand '@midnight'" in error("@midnight")


def test_year_field() -> None:
    # croniter 7.0 finds no match for this one; the year is applied here instead.
    assert runs("0 0 0 1 1 * 2028") == ["2028-01-01T00:00:00+00:00"]
    assert runs("0 0 0 1 1 * 2026-2032/3") == [
        "2029-01-01T00:00:00+00:00",
        "2032-01-01T00:00:00+00:00",
    ]
    late = datetime(2026, 12, 30, tzinfo=UTC)
    assert runs("0 0 0 * * * 2026", 3, late) == ["2026-12-31T00:00:00+00:00"]
    assert runs("0 0 0 1 1 * 2020") == []
    assert "out of range (1970-2099)" in error("* * * * * * 1969")


def test_an_impossible_date_never_fires() -> None:
    assert runs("0 0 0 30 2 *") == []


def test_leap_days() -> None:
    assert [d[:10] for d in runs("0 0 12 29 2 *", 3)] == ["2028-02-29", "2032-02-29", "2036-02-29"]
    # Every day of a leap February, then March.
    days = runs("0 0 0 * 2-3 *", 31, datetime(2028, 2, 1, tzinfo=UTC))
    assert "2028-02-29T00:00:00+00:00" in days
    assert days[28] == "2028-03-01T00:00:00+00:00"  # strictly after Feb 1: Feb 2-29 first


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("L * * * * *", "invalid seconds value 'L'"),
        ("0 0 0 ? * 5#2", "invalid day-of-week field"),
        ("0 0 0 ? * Tue/2", "a name cannot take a step"),
        ("? * * * * *", "'?' is only allowed in the day fields"),
        ("50-10 * * * * *", "invalid range '50-10'"),
        ("*/0 * * * * *", "step 0"),
        ("60 * * * * *", "seconds value 60 is out of range (0-59)"),
        ("* * 24 * * *", "hours value 24 is out of range"),
        ("* * * 0 * *", "day-of-month value 0 is out of range"),
        ("* * * * 13 *", "month value 13 is out of range"),
        ("* * * * Foo *", "invalid month value 'Foo'"),
        ("* * * * * Turtle", "invalid day-of-week value 'Turtle'"),
        ("H * * * * *", "invalid seconds value 'H'"),
        ("1,,2 * * * * *", "invalid seconds field"),
    ],
)
def test_invalid_expressions(expression: str, needle: str) -> None:
    assert needle in error(expression)


def test_months_of_ticks_in_milliseconds() -> None:
    schedule = CronSchedule("0 */15 * * * *")
    times = schedule.upcoming(START, 4 * 24 * 90)
    assert times[-1] == START + timedelta(days=90)
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(times))


BERLIN = "Europe/Berlin"


def test_timezone_shifts_the_schedule() -> None:
    assert runs("0 0 9 * * *", 1, tz=BERLIN) == ["2026-01-01T09:00:00+01:00"]
    assert runs("0 0 9 * * *", 1, tz="America/New_York") == ["2026-01-01T09:00:00-05:00"]
    with pytest.raises(CronExpressionError, match="unknown time zone 'Mars/Base'"):
        CronSchedule("* * * * * *", "Mars/Base")


def test_spring_forward_gap_fires_once_after_the_gap() -> None:
    # 2026-03-29 02:00 -> 03:00 in Berlin: 02:30 does not exist that day.
    start = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo(BERLIN))
    assert runs("0 30 2 * * *", 3, start, BERLIN) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]
    start = datetime(2026, 3, 29, 1, 40, tzinfo=ZoneInfo(BERLIN))
    assert runs("0 */20 * * * *", 3, start, BERLIN) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:20:00+02:00",
        "2026-03-29T03:40:00+02:00",
    ]


def test_fall_back_fixed_time_runs_once() -> None:
    # 2026-10-25 03:00 -> 02:00 in Berlin: 02:30 happens twice; a daily job runs once.
    start = datetime(2026, 10, 24, 12, tzinfo=ZoneInfo(BERLIN))
    assert runs("0 30 2 * * *", 2, start, BERLIN) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]
    # croniter alone runs it in both passes.
    it = croniter("0 30 2 * * *", start, second_at_beginning=True)
    assert it.get_next(datetime).day == it.get_next(datetime).day == 25


def test_fall_back_every_hour_job_follows_elapsed_time() -> None:
    start = datetime(2026, 10, 25, 1, 40, tzinfo=ZoneInfo(BERLIN))
    got = CronSchedule("0 */20 * * * *", BERLIN).upcoming(start, 6)
    assert [t.isoformat() for t in got] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:20:00+02:00",
        "2026-10-25T02:40:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:20:00+01:00",
        "2026-10-25T02:40:00+01:00",
    ]
    utc = [t.astimezone(UTC) for t in got]  # same-zone subtraction would ignore the fold
    assert all(b - a == timedelta(minutes=20) for a, b in itertools.pairwise(utc))


def test_dst_in_new_york_over_a_year() -> None:
    tz = "America/New_York"
    daily = CronSchedule("0 30 2 * * *", tz).upcoming(datetime(2026, 1, 1, tzinfo=UTC), 365)
    assert len({t.date() for t in daily}) == 365  # one run per day, none doubled, none lost
    march_8 = [t for t in daily if t.month == 3 and t.day == 8]
    assert [t.isoformat() for t in march_8] == ["2026-03-08T03:00:00-04:00"]


def test_utc_results_are_utc() -> None:
    assert CronSchedule("* * * * * *").next_after(START) == START + timedelta(seconds=1)


def test_from_inside_the_second_pass_of_a_repeated_hour() -> None:
    second_pass = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=ZoneInfo(BERLIN))
    assert runs("0 */20 * * * *", 2, second_pass, BERLIN) == [
        "2026-10-25T02:20:00+01:00",
        "2026-10-25T02:40:00+01:00",
    ]
    assert runs("0 30 2 * * *", 1, second_pass, BERLIN) == ["2026-10-26T02:30:00+01:00"]
    first_pass = datetime(2026, 10, 25, 2, 40, tzinfo=ZoneInfo(BERLIN))
    assert runs("0 */20 * * * *", 1, first_pass, BERLIN) == ["2026-10-25T02:00:00+01:00"]


def test_same_expression_schedules_share_answers() -> None:
    a, b = CronSchedule("*/7 * * * * *"), CronSchedule("*/7 * * * * *")
    assert a.next_after(START) is b.next_after(START + timedelta(microseconds=10))
    berlin = CronSchedule("*/7 * * * * *", BERLIN).next_after(START)
    assert berlin is not None
    assert berlin.isoformat() == "2026-01-01T01:00:07+01:00"  # its own zone, not a's answer
