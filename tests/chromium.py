"""A headless Chromium driven by chromedriver, for the tests that drive a real browser.

::

    @pytest.fixture
    def browser() -> Iterator[Any]:
        with headless_chromium() as driver:
            yield driver

Without ``chromium`` and ``chromedriver`` on the PATH the test is skipped (failed under CI).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

__all__ = ["CHROMIUM_FLAGS", "headless_chromium"]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def headless_chromium(*extra_flags: str) -> Iterator[Any]:
    """A Selenium driver of a headless Chromium with a fresh profile, quit on exit."""
    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_bin is None:
        message = "chromium and chromium-driver are needed: ./scripts/test installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="iii-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in [*CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(driver_bin))
        try:
            yield driver
        finally:
            driver.quit()
