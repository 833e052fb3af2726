"""Fixtures shared by the built-in plugin tests.

``redis_url`` runs one real ``redis-server`` for the whole session (no persistence, its own temp
dir, a free loopback port). Tests that use it should isolate themselves by key prefix or by
``FLUSHDB`` on a database of their own; the server is shared.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_INSTALL_HINT = "install it with: apt-get install -y redis-server"
_START_DEADLINE_S = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    """True when a RESP ``PING`` on ``port`` answers ``+PONG``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited ({proc.returncode}): {log.read_text()}")
        if _ping(port):
            return
        # Polling is the only option: redis-server has no readiness signal we can await.
        time.sleep(0.02)
    raise RuntimeError(f"redis-server did not answer PING within {_START_DEADLINE_S}s")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL (``redis://127.0.0.1:<port>/0``) of a real redis-server started for this session.

    Skips when ``redis-server`` is not installed, unless ``CI`` is set (then it fails).
    """
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"redis-server is required in CI but not installed; {_INSTALL_HINT}")
        pytest.skip(f"redis-server not installed; {_INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="iii-redis-") as tmp:
        for _attempt in range(3):
            port = _free_port()
            log = Path(tmp) / "redis.log"
            args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            args += ["--appendonly", "no", "--dir", tmp, "--logfile", str(log)]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            try:
                _wait_ready(proc, port, log)
            except RuntimeError:
                # Another process may have taken the port between probe and bind: retry.
                proc.kill()
                proc.wait()
                continue
            try:
                yield f"redis://127.0.0.1:{port}/0"
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            return
        pytest.fail("could not start redis-server after 3 attempts")
