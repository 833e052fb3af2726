"""Run the official Python SDK 0.25's own engine-facing tests against an engine of ours.

The SDK (import name ``iii``, like 0.23) lives in a virtualenv of its own, ``.venv-sdk025``,
with its source distribution unpacked under ``.venv-sdk025/src`` (``scripts/_setup.sh``,
``ensure_sdk025``). Each test file runs in a ``pytest`` subprocess of that virtualenv, pointed
at the engine by the variables the SDK's tests read (``III_URL``, ``III_HTTP_URL``); the
outcome of every test comes back through a JUnit XML report.
"""

from __future__ import annotations

import asyncio
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / ".venv-sdk025"
SDK_VERSION = "0.25.0"
SDK_DIR = VENV / "src" / f"iii_sdk-{SDK_VERSION}"
PYTHON = VENV / "bin" / "python"

FILE_TIMEOUT_S = 240.0
"""Upper bound for one test file (the observe suites wait up to 10 s on a failing ``ready``)."""


@dataclass
class FileOutcome:
    """What one test file of the SDK did: test name -> ``passed``/``failed``/``skipped``."""

    results: dict[str, str]
    output: str

    def names(self, status: str) -> set[str]:
        """The tests with this status."""
        return {name for name, got in self.results.items() if got == status}


def available() -> str | None:
    """None when the 0.25 SDK and its tests are installed, else why not."""
    if not PYTHON.exists() or not (SDK_DIR / "tests").is_dir():
        return "iii-sdk 0.25 is not installed in .venv-sdk025: run ./scripts/test once"
    return None


async def run_file(test_file: str, env: dict[str, str], report: Path) -> FileOutcome:
    """Run ``tests/<test_file>`` of the SDK with ``env`` added; parse its JUnit report."""
    command = [
        str(PYTHON),
        "-m",
        "pytest",
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rN",
        f"--junitxml={report}",
        f"tests/{test_file}",
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=SDK_DIR,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(FILE_TIMEOUT_S):
            out, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        raise AssertionError(
            f"{test_file} ran longer than {FILE_TIMEOUT_S:.0f}s:\n{out.decode()[-4000:]}"
        ) from None
    return FileOutcome(_parse(report), out.decode(errors="replace"))


def _parse(report: Path) -> dict[str, str]:
    results: dict[str, str] = {}
    if not report.exists():
        return results
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        classname = case.get("classname", "")
        if "." in classname and classname.rsplit(".", 1)[1][:1].isupper():
            name = f"{classname.rsplit('.', 1)[1]}::{name}"
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
                break
            if child.tag == "skipped":
                status = "skipped"
        results[name] = status
    return results
