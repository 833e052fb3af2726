"""The ``pytest11`` plugin in a project that installed iii-py without its dev extras.

A fresh virtualenv (no pip, no network) gets iii-py and the distributions its runtime
requirements pull in, linked from the running environment, plus pytest: exactly what
``pip install iii-py pytest`` would give. pytest must then start cleanly in an unrelated project;
the fixtures fail with advice until the ``testing`` extra (pytest-asyncio) is there too.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from iii_engine.testing import NEEDS_PYTEST_ASYNCIO

pytestmark = pytest.mark.slow


def _closure(roots: list[tuple[str, frozenset[str]]]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` (name, extras) need at run time."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        dist = metadata.distribution(name)
        if key in seen and not extras:
            continue
        seen[key] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            envs = [{**default_environment(), "extra": e} for e in ("", *extras)]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):  # type: ignore[arg-type]
                todo.append((req.name, frozenset(req.extras)))
    return list(seen.values())


def _make_venv(root: Path, roots: list[tuple[str, frozenset[str]]]) -> Path:
    """A virtualenv whose site-packages links to ``roots`` and their requirements only."""
    venv.create(root, with_pip=False, symlinks=True)
    site = next((root / "lib").glob("python3*/site-packages"))
    for dist in _closure(roots):
        base = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        for top in tops:
            source = base / top
            if top.startswith("..") or top == "__pycache__" or not source.exists():
                continue
            if not (site / top).exists():
                (site / top).symlink_to(source)
    return root / "bin" / "python"


def _project(root: Path, tests: str, ini: str = "") -> Path:
    root.mkdir()
    (root / "pytest.ini").write_text(f"[pytest]\n{ini}")
    (root / "test_mine.py").write_text(textwrap.dedent(tests))
    return root


def _pytest(python: Path, project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pytest_starts_without_pytest_asyncio(tmp_path: Path) -> None:
    python = _make_venv(tmp_path / "venv", [("iii-py", frozenset()), ("pytest", frozenset())])
    missing = subprocess.run(
        [str(python), "-c", "import pytest_asyncio"], capture_output=True, check=False
    )
    assert missing.returncode != 0  # the point of the test: no dev extras
    project = _project(
        tmp_path / "project",
        """
        def test_unrelated():
            assert 1 + 1 == 2

        def test_wants_an_engine(iii_engine):
            pass
        """,
    )
    result = _pytest(python, project)
    out = result.stdout + result.stderr
    assert "1 passed, 1 error" in out, out
    assert NEEDS_PYTEST_ASYNCIO in out, out


def test_testing_extra_gives_working_fixtures(tmp_path: Path) -> None:
    python = _make_venv(
        tmp_path / "venv", [("iii-py", frozenset()), ("pytest-asyncio", frozenset())]
    )
    project = _project(
        tmp_path / "project",
        """
        async def test_call(iii_engine, iii_worker):
            provider = await iii_worker(iii_engine)
            provider.register_function("math::add", lambda p: {"c": p["a"] + p["b"]})
            caller = await iii_worker(iii_engine)
            assert await caller.trigger("math::add", {"a": 2, "b": 3}) == {"c": 5}
        """,
        ini="asyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n",
    )
    result = _pytest(python, project)
    assert "1 passed" in result.stdout, result.stdout + result.stderr


def test_the_testing_extra_declares_pytest_asyncio() -> None:
    requires = metadata.distribution("iii-py").requires or []
    assert any(r.startswith("pytest-asyncio") and "extra == 'testing'" in r for r in requires)
