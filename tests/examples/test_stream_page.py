"""examples/stream_page in a real headless Chromium: live stream updates and a browser worker.

End to end and slower than most tests (a browser starts: about 2 s). The page is served through
iii-http by the example's own ``register``; the test writes with the SDK and watches the DOM,
then calls the tab's ``browser::greet`` from Python and from ``iii trigger``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.chromium import headless_chromium
from tests.compat.support import wait_for_functions

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stream_page"
WAIT = 10.0


def _load_app() -> Any:
    spec = importlib.util.spec_from_file_location("stream_page_app", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium driven by chromedriver (fresh profile)."""
    with headless_chromium() as driver:
        yield driver


def _wait_text(driver: Any, element_id: str, text: str | None) -> None:
    """Wait until #element_id shows ``text`` (``None``: until it is gone)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d: Any) -> bool:
        found = d.find_elements("id", element_id)
        if text is None:
            return not found
        return bool(found) and found[0].text == text

    WebDriverWait(driver, WAIT).until(shown, f"#{element_id} never showed {text!r}")


def _wait_attr(driver: Any, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element("tag name", "body").get_attribute(name) == value,
        f"body[{name}] never became {value!r}",
    )


async def test_page_renders_live_updates_and_serves_browser_greet(
    browser: Any, iii_worker: Any
) -> None:
    app = _load_app()
    workers = [
        {"name": "iii-http", "config": {"host": "127.0.0.1", "port": 0}},
        {
            "name": "iii-stream",
            "config": {"host": "127.0.0.1", "port": 0, "adapter": {"name": "memory"}},
        },
    ]
    async with start_engine(workers=workers) as engine:
        await _drive(engine, app, browser, iii_worker)


async def _drive(iii_engine: Engine, app: Any, browser: Any, iii_worker: Any) -> None:
    stream_port = iii_engine.builtin("iii-stream").port  # type: ignore[attr-defined]
    http_port = iii_engine.builtin("iii-http").port  # type: ignore[attr-defined]
    page_worker = await iii_worker(iii_engine, name="stream-page")
    app.register(
        page_worker, worker_url=iii_engine.worker_url, stream_url=f"ws://127.0.0.1:{stream_port}/"
    )
    writer = await iii_worker(iii_engine, name="writer")
    where = {"stream_name": "board", "group_id": "main"}

    async def put(item_id: str, text: str) -> None:
        data = {"id": item_id, "text": text}
        await writer.trigger("stream::set", {**where, "item_id": item_id, "data": data})

    await put("a", "A")
    await wait_for_functions(iii_engine, "stream_page::index")

    await asyncio.to_thread(browser.get, f"http://127.0.0.1:{http_port}/")
    await asyncio.to_thread(_wait_attr, browser, "data-stream", "synced")
    await asyncio.to_thread(_wait_text, browser, "item-a", "A")

    await put("b", "B")
    await asyncio.to_thread(_wait_text, browser, "item-b", "B")
    await put("a", "A2")
    await asyncio.to_thread(_wait_text, browser, "item-a", "A2")
    await writer.trigger("stream::delete", {**where, "item_id": "b"})
    await asyncio.to_thread(_wait_text, browser, "item-b", None)

    await asyncio.to_thread(_wait_attr, browser, "data-worker", "registered")
    await wait_for_functions(iii_engine, "browser::greet")
    answer = await writer.trigger("browser::greet", {"name": "python"})
    assert answer == {"greeting": "Hello, python, from a browser tab"}
    await asyncio.to_thread(_wait_text, browser, "greeted", "python")

    port = iii_engine.worker_url.rsplit(":", 1)[1].split("/")[0]
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iii_engine",
        "trigger",
        "browser::greet",
        "name=cli",
        "--address",
        "127.0.0.1",
        "--port",
        port,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(cli.communicate(), WAIT)
    assert cli.returncode == 0, err.decode()
    assert json.loads(out) == {"greeting": "Hello, cli, from a browser tab"}
