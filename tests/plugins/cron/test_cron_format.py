"""The RFC 3339 texts of the cron payload (cached per second, so check the edge cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from plugins.cron.clock import to_ns
from plugins.cron.scheduler import rfc3339, rfc3339_ns

BERLIN = ZoneInfo("Europe/Berlin")


def test_scheduled_time_keeps_the_offset_of_each_pass_of_a_repeated_hour() -> None:
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    assert rfc3339(first) == "2026-10-25T02:30:00+02:00"
    assert rfc3339(second) == "2026-10-25T02:30:00+01:00"
    assert rfc3339(first.astimezone(UTC)) == "2026-10-25T00:30:00+00:00"


def test_actual_time_has_nanoseconds_in_the_zone() -> None:
    base = to_ns(datetime(2026, 8, 21, 15, 52, tzinfo=UTC))
    assert rfc3339_ns(base + 1_234_567, UTC) == "2026-08-21T15:52:00.001234567+00:00"
    assert rfc3339_ns(base + 999_999_999, UTC) == "2026-08-21T15:52:00.999999999+00:00"
    assert rfc3339_ns(base, BERLIN) == "2026-08-21T17:52:00.000000000+02:00"
    assert datetime.fromisoformat(rfc3339_ns(base + 5_000, UTC)[:26] + "+00:00").microsecond == 5
