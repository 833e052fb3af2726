"""Event timestamps: wall-clock milliseconds, never backwards, strictly increasing per item."""

from __future__ import annotations

from typing import Any

from iii_sdk.worker import Worker
from plugins.stream.clock import EventClock
from tests.plugins.stream.stream_helpers import call, item


class FakeWall:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_same_millisecond_events_of_one_item_get_increasing_stamps() -> None:
    wall = FakeWall(1000)
    clock = EventClock(wall)
    assert [clock.stamp("a") for _ in range(3)] == [1000, 1001, 1002]
    assert clock.stamp("b") == 1000  # other items keep the wall clock
    wall.now = 1001
    assert clock.stamp("a") == 1003
    wall.now = 1010
    assert clock.stamp("a") == 1010
    assert clock.current() == 1010


def test_a_clock_stepping_back_never_moves_stamps_back() -> None:
    wall = FakeWall(5000)
    clock = EventClock(wall)
    assert clock.stamp("a") == 5000
    wall.now = 4000
    assert clock.stamp("b") == 5000
    assert clock.stamp("a") == 5001
    assert clock.current() == 5001


def test_only_the_most_recent_items_are_remembered() -> None:
    wall = FakeWall(7)
    clock = EventClock(wall, remembered=2)
    clock.stamp("a")
    clock.stamp("b")
    clock.stamp("c")  # forgets "a"
    assert clock.stamp("a") == 7
    assert clock.stamp("c") == 8


async def test_rapid_writes_reach_subscribers_with_increasing_stamps(
    client: Worker, subscribe: Any
) -> None:
    sub = await subscribe()
    sync = await sub.join("s", item_id="hot")
    writes = [call(client, "stream::set", {**item("hot"), "data": i}) for i in range(30)]
    for write in writes:
        await write
    stamps = [(await sub.next())["timestamp"] for _ in range(30)]
    assert all(a < b for a, b in zip([sync["timestamp"], *stamps], stamps, strict=False))
