"""Helpers for driving the ``iii`` command as a real subprocess."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = REPO_ROOT / "examples" / "quickstart"
WAIT_S = 30.0
"""Upper bound of any single wait in these tests."""


@dataclass
class Run:
    """The outcome of one ``iii`` invocation."""

    code: int
    out: str
    err: str


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for subprocesses: this interpreter's bin dir first (``python`` in
    config files resolves to it), no inherited III_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("III_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


async def iii(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run ``python -m iii_engine ARGS`` to completion."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iii_engine",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env or cli_env(),
    )
    out, err = await asyncio.wait_for(process.communicate(), WAIT_S)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def free_port() -> int:
    """A loopback port that was free a moment ago (for configs that need a fixed port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
