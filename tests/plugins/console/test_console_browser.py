"""iii-console in a real headless Chromium: every page, against an engine with real workers.

One browser serves the whole module (it starts in about 2 s); each test starts its own engine.
Screenshots of each page land in the test's temporary directory; with
``III_CONSOLE_SCREENSHOTS=docs/img`` they are also written there (how the docs' images are made).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.chromium import headless_chromium
from tests.compat.support import eventually, wait_for_functions

WAIT = 10.0
PAGES = [
    "overview",
    "functions",
    "triggers",
    "state",
    "streams",
    "queues",
    "cron",
    "traces",
    "logs",
]
ROUTES = [
    ("overview", "overview"),
    ("functions", "functions/orders::create"),
    ("triggers", "triggers"),
    ("state", "state/orders"),
    ("streams", "streams/board/main"),
    ("queues", "queues/jobs"),
    ("cron", "cron"),
    ("traces", "traces"),
    ("logs", "logs"),
]
LIVE = '#stream-live[data-live="yes"]'
JOBS_QUEUE = {
    "adapter": {"name": "memory"},
    "queue_configs": {"jobs": {"max_retries": 1, "backoff_ms": 1}},
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by chromedriver, shared by the module's tests."""
    with headless_chromium("--window-size=1200,800") as driver:
        yield driver


def _workers() -> list[dict[str, Any]]:
    """State, stream, queue, cron and the console."""
    return [
        {"name": "iii-state", "config": {"adapter": {"name": "memory"}}},
        {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "memory"}}},
        {"name": "iii-console", "config": {"port": 0}},
        {"name": "iii-queue", "config": JOBS_QUEUE},
        {"name": "iii-cron"},
    ]


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=_workers()) as running:
        yield running


def _url(engine: Engine, page: str) -> str:
    port = engine.builtin("iii-console").port  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{port}/#/{page}"


# --- blocking selenium helpers (run in a thread) -------------------------------------------------


def _until(driver: Any, check: Any, what: str, *, missing_ok: bool = False) -> Any:
    """Wait for ``check``; fail at once when the page says its built-in is not enabled."""
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d: Any) -> Any:
        missing = [] if missing_ok else _css(d, "[data-missing]")
        if missing:
            raise AssertionError(missing[0].text)
        return check(d)

    return WebDriverWait(driver, WAIT).until(ready, f"never saw {what}")


def _css(driver: Any, selector: str) -> list[Any]:
    return list(driver.find_elements("css selector", selector))


def _click(driver: Any, selector: str) -> None:
    _css(driver, selector)[0].click()


def _open(driver: Any, url: str, page: str) -> None:
    """Load ``url`` and wait until ``page`` has rendered."""
    if driver.current_url.split("#", 1)[0] == url.split("#", 1)[0]:
        driver.execute_script("location.hash = arguments[0]", url.split("#", 1)[1])
    else:
        driver.get(url)
    ready = f'main[data-ready="{page}"]'
    _until(driver, lambda d: _css(d, ready), f"page {page}", missing_ok=True)


def _shoot(driver: Any, page: str, where: Path) -> None:
    driver.save_screenshot(str(where / f"console-{page}.png"))
    extra = os.environ.get("III_CONSOLE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(extra) / f"console-{page}.png"))


async def run(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


# --- tests ---------------------------------------------------------------------------------------


async def test_every_page_loads_with_real_workers(
    browser: Any, engine: Engine, iii_worker: Any, tmp_path: Path
) -> None:
    worker = await iii_worker(engine, name="orders-worker")
    worker.register_function(
        "orders::create", lambda p: {"id": 1, **(p or {})}, description="Create an order"
    )
    worker.register_trigger("state", "orders::create", {"scope": "orders"})
    worker.register_trigger("cron", "orders::create", {"expression": "0 0 9 * * Mon-Fri"})
    await wait_for_functions(engine, "orders::create")
    for n in range(3):
        order = {"scope": "orders", "key": f"o{n}", "value": {"id": f"o{n}", "total": 3 * n}}
        await worker.trigger("state::set", order)
        item = {"stream_name": "board", "group_id": "main", "item_id": f"i{n}"}
        await worker.trigger("stream::set", {**item, "data": {"id": f"i{n}", "text": f"note {n}"}})
    await _dead_letter(engine, worker)
    await _place_an_order(engine, iii_worker)
    for page, route in ROUTES:
        await run(_open, browser, _url(engine, route), page)
        if page == "functions":
            await run(_invoke, browser, '{"total": 3}')
        if page == "traces":
            await run(_click_text, browser, "tr[data-trace] a", "orders::place")
            await run(_until, browser, lambda d: _css(d, "#waterfall .span-row"), "the waterfall")
        await run(_shoot, browser, page, tmp_path)
    assert (tmp_path / "console-logs.png").stat().st_size > 0
    errors = [e for e in await run(browser.get_log, "browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    await run(_open, browser, _url(engine, "queues/jobs"), "queues")
    await run(_click, browser, "button[data-discard]")
    await run(_until, browser, lambda d: _css(d, "#dlq-empty"), "no dead letters")
    assert await engine.invoke("engine::queue::dlq_messages", {"topic": "jobs"}) == []
    await run(_open, browser, _url(engine, "overview"), "overview")
    names = await run(lambda: [e.get_attribute("data-worker") for e in _css(browser, "tr")])
    assert "orders-worker" in names
    await run(_open, browser, _url(engine, "triggers"), "triggers")
    rows = await run(lambda: _css(browser, 'section[data-type="state"] tr[data-trigger]'))
    assert len(rows) == 1


async def _dead_letter(engine: Engine, worker: Any) -> None:
    """Enqueue a job on ``jobs`` that always fails; return once it is dead-lettered."""

    def charge(payload: Any) -> Any:
        raise RuntimeError("card declined")

    worker.register_function("orders::charge", charge)
    await wait_for_functions(engine, "orders::charge")
    enqueue = {"type": "enqueue", "queue": "jobs"}
    await worker.trigger("orders::charge", {"order": "o1", "amount": 12}, action=enqueue)

    async def dead() -> Any:
        return await engine.invoke("engine::queue::dlq_messages", {"topic": "jobs"})

    await eventually(dead, "a dead letter")


async def _place_an_order(engine: Engine, iii_worker: Any) -> None:
    """A call that fans out to other workers and logs: a trace with a few levels."""
    shop = await iii_worker(engine, name="shop-worker")

    async def place(payload: Any) -> Any:
        order = await shop.trigger("orders::create", {"total": 12})
        await shop.trigger("state::set", {"scope": "orders", "key": "o9", "value": order})
        await shop.trigger("engine::log::info", {"message": "order o9 placed"})
        await shop.trigger("engine::log::warn", {"message": "stock low for item 4"})
        return order

    shop.register_function("orders::place", place)
    await wait_for_functions(engine, "orders::place")
    await shop.trigger("orders::place", {})


def _click_text(driver: Any, selector: str, text: str) -> None:
    """Click the first ``selector`` element whose text contains ``text``."""
    _until(driver, lambda d: [e for e in _css(d, selector) if text in e.text], text)
    next(e for e in _css(driver, selector) if text in e.text).click()


def _invoke(driver: Any, payload: str) -> tuple[str, str, str]:
    """Type ``payload`` into the function form, invoke, return (outcome, status, result)."""
    box = _css(driver, "#fn-payload")[0]
    box.clear()
    box.send_keys(payload)
    _click(driver, "#fn-invoke")
    status = _until(driver, lambda d: _css(d, "#fn-status[data-outcome]"), "an outcome")[0]
    return status.get_attribute("data-outcome"), status.text, _css(driver, "#fn-result")[0].text


async def test_invoke_a_function_from_the_form(
    browser: Any, engine: Engine, iii_worker: Any
) -> None:
    worker = await iii_worker(engine, name="math-worker")
    worker.register_function("math::add", lambda p: {"c": p["a"] + p["b"]})
    await wait_for_functions(engine, "math::add")
    await run(_open, browser, _url(engine, "functions/math::add"), "functions")

    def invoke(payload: str) -> tuple[str, str, str]:
        box = _css(browser, "#fn-payload")[0]
        box.clear()
        box.send_keys(payload)
        _css(browser, "#fn-invoke")[0].click()
        status = _until(browser, lambda d: _css(d, "#fn-status[data-outcome]"), "an outcome")[0]
        return (
            status.get_attribute("data-outcome"),
            status.text,
            _css(browser, "#fn-result")[0].text,
        )

    outcome, status, result = await run(invoke, '{"a": 2, "b": 40}')
    assert outcome == "ok" and status.startswith("ok in ") and status.endswith(" ms")
    assert json.loads(result) == {"c": 42}
    outcome, status, result = await run(_invoke, browser, '{"a": 2}')
    assert outcome == "error" and "invocation_failed" in status
    assert "b" in result

    def bad_json() -> tuple[bool, str]:
        box = _css(browser, "#fn-payload")[0]
        box.clear()
        box.send_keys('{"a": ')
        return _css(browser, "#fn-invoke")[0].is_enabled(), _css(browser, "#fn-json-error")[0].text

    enabled, message = await run(bad_json)
    assert not enabled and message.startswith("Invalid JSON")

    def search(text: str) -> list[str]:
        box = _css(browser, "#fn-search")[0]
        box.send_keys(text)
        _until(browser, lambda d: len(_css(d, "#fn-list li")) == 1, "one match")
        return [li.get_attribute("data-fn") for li in _css(browser, "#fn-list li")]

    assert await run(search, "math::a") == ["math::add"]


async def test_a_worker_disappears_when_it_disconnects(
    browser: Any, engine: Engine, iii_worker: Any
) -> None:
    await run(_open, browser, _url(engine, "overview"), "overview")
    worker = await iii_worker(engine, name="short-lived")
    row = 'tr[data-worker="short-lived"]'
    await run(_until, browser, lambda d: _css(d, row), "the worker's row")
    await worker.close()
    await run(_until, browser, lambda d: not _css(d, row), "the row gone")


async def test_state_edit_and_delete(browser: Any, engine: Engine) -> None:
    await engine.invoke("state::set", {"scope": "users", "key": "ada", "value": {"n": 1}})
    await run(_open, browser, _url(engine, "state/users"), "state")

    def edit() -> str:
        _css(browser, "#state-key")[0].send_keys("ada")
        _css(browser, "#state-get")[0].click()
        _until(
            browser,
            lambda d: '"n": 1' in _css(d, "#state-value")[0].get_attribute("value"),
            "value",
        )
        box = _css(browser, "#state-value")[0]
        box.clear()
        box.send_keys('{"n": 2}')
        _css(browser, "#state-save")[0].click()
        _until(browser, lambda d: '"old_value"' in _css(d, "#state-result")[0].text, "saved")
        _css(browser, "#state-delete")[0].click()
        _until(browser, lambda d: _css(d, "#state-result")[0].text.startswith("{"), "deleted")
        return str(_css(browser, "#state-result")[0].text)

    deleted = await run(edit)
    assert json.loads(deleted) == {"n": 2}
    assert await engine.invoke("state::get", {"scope": "users", "key": "ada"}) is None


async def test_a_stream_group_is_followed_live(
    browser: Any, engine: Engine, iii_worker: Any
) -> None:
    writer = await iii_worker(engine, name="writer")
    where = {"stream_name": "board", "group_id": "main"}
    await writer.trigger("stream::set", {**where, "item_id": "a", "data": {"id": "a", "t": 1}})
    await run(_open, browser, _url(engine, "streams/board/main"), "streams")
    await run(_until, browser, lambda d: _css(d, '#stream-live[data-live="yes"]'), "live")
    await writer.trigger("stream::set", {**where, "item_id": "b", "data": {"id": "b", "t": 2}})
    await run(_until, browser, lambda d: _css(d, 'tr[data-item="b"]'), "item b")
    await writer.trigger("stream::delete", {**where, "item_id": "a"})
    await run(_until, browser, lambda d: not _css(d, 'tr[data-item="a"]'), "item a gone")

    def follow(stream: str, group: str) -> None:
        for selector, text in (("#stream-name", stream), ("#stream-group", group)):
            box = _css(browser, selector)[0]
            box.clear()
            box.send_keys(text)
        _click(browser, "#stream-follow")

        def live(d: Any) -> bool:
            title = _css(d, "#stream-view h2")
            return bool(title) and group in title[0].text and bool(_css(d, LIVE))

        _until(browser, live, f"{stream}/{group} live")

    await run(follow, "chat", "empty-room")  # no item yet: not listed, followed by name
    chat = {"stream_name": "chat", "group_id": "empty-room", "item_id": "m1", "data": {"t": 1}}
    await writer.trigger("stream::set", chat)
    await run(_until, browser, lambda d: _css(d, 'tr[data-item="m1"]'), "the first message")


async def test_pages_of_missing_builtins_say_so(browser: Any) -> None:
    console_only = [{"name": "iii-console", "config": {"port": 0}}]
    async with start_engine(workers=console_only) as engine:
        await run(_open, browser, _url(engine, "queues"), "queues")
        notice = await run(lambda: _css(browser, '[data-missing="iii-queue"]')[0].text)
        assert "iii-queue is not enabled" in notice


async def test_redrive_a_dead_letter(browser: Any, engine: Engine, iii_worker: Any) -> None:
    worker = await iii_worker(engine, name="jobs-worker")
    healthy = asyncio.Event()
    done = asyncio.Event()

    async def job(payload: Any) -> Any:
        if not healthy.is_set():
            raise RuntimeError("boom")
        done.set()
        return payload

    worker.register_function("jobs::run", job)
    await wait_for_functions(engine, "jobs::run")
    await worker.trigger("jobs::run", {"n": 1}, action={"type": "enqueue", "queue": "jobs"})

    async def dead_letters() -> list[Any]:
        rows: list[Any] = await engine.invoke("engine::queue::dlq_messages", {"topic": "jobs"})
        return rows

    await eventually(dead_letters, "a dead letter")
    await run(_open, browser, _url(engine, "queues/jobs"), "queues")
    error = await run(lambda: _css(browser, "tr[data-message] .bad")[0].text)
    assert "boom" in error
    healthy.set()
    await run(_click, browser, "button[data-redrive]")
    await asyncio.wait_for(done.wait(), WAIT)
    await run(_until, browser, lambda d: _css(d, "#dlq-empty"), "no dead letters")


CRON_CASES = {
    # 2026-12-04T10:00:00Z is a Friday.
    "0 30 9 * * Mon-Fri": ["2026-12-07T09:30:00", "2026-12-08T09:30:00"],
    "0 0 12 * * 1": ["2026-12-06T12:00:00", "2026-12-13T12:00:00"],  # 1 = Sunday
    "*/20 * * * * *": ["2026-12-04T10:00:20", "2026-12-04T10:00:40"],
    "@daily": ["2026-12-05T00:00:00", "2026-12-06T00:00:00"],
    "0 0 0 29 FEB * 2028-2030": ["2028-02-29T00:00:00"],
    "0 15 10 1 JAN,JUL *": ["2027-01-01T10:15:00", "2027-07-01T10:15:00"],
}


async def test_next_cron_runs_are_computed_in_the_page(browser: Any, engine: Engine) -> None:
    await run(_open, browser, _url(engine, "cron"), "cron")
    script = """
        const [cases, done] = arguments;
        import("/static/cron.js").then((m) => done(Object.fromEntries(Object.keys(cases).map(
            (e) => [e, m.nextRuns(e, cases[e].length, new Date("2026-12-04T10:00:00Z"))
                      .map((d) => d.toISOString().slice(0, 19))]))));
    """
    assert await run(browser.execute_async_script, script, CRON_CASES) == CRON_CASES


async def test_cron_page_shows_next_runs(browser: Any, engine: Engine, iii_worker: Any) -> None:
    worker = await iii_worker(engine, name="cron-worker")
    worker.register_function("reports::yearly", lambda p: None)
    worker.register_trigger("cron", "reports::yearly", {"expression": "0 0 0 1 1 *"})
    await wait_for_functions(engine, "reports::yearly")
    await run(_open, browser, _url(engine, "cron"), "cron")
    runs = await run(_until, browser, lambda d: _css(d, "tr[data-cron] .next-runs"), "runs")
    text = await run(lambda: runs[0].text)
    assert "-01-01T00:00:00" in text


async def test_traces_waterfall_and_logs_filter(
    browser: Any, engine: Engine, iii_worker: Any
) -> None:
    worker = await iii_worker(engine, name="traced")
    worker.register_function("traced::work", lambda p: {"ok": True})
    await wait_for_functions(engine, "traced::work")
    await worker.trigger("traced::work", {})
    await worker.trigger("engine::log::warn", {"message": "console sees this warning"})
    await worker.trigger("engine::log::info", {"message": "console sees this info"})
    await run(_open, browser, _url(engine, "traces"), "traces")
    await run(_until, browser, lambda d: _css(d, "tr[data-trace] a"), "a trace")
    await run(_click, browser, "tr[data-trace] a")
    await run(_until, browser, lambda d: _css(d, "#waterfall .span-row"), "the waterfall")
    await run(_open, browser, _url(engine, "logs"), "logs")
    await run(_until, browser, lambda d: "this info" in _css(d, "#log-rows")[0].text, "logs")

    def only_warnings() -> str:
        from selenium.webdriver.support.select import Select

        Select(_css(browser, "#log-level")[0]).select_by_visible_text("warn")
        _until(browser, lambda d: "this info" not in _css(d, "#log-rows")[0].text, "filtered")
        return str(_css(browser, "#log-rows")[0].text)

    assert "console sees this warning" in await run(only_warnings)
