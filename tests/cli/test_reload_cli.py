"""Hot reload of a running engine process: an edit applies, an invalid edit exits 1."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from iii_engine.cli._rawclient import RawClient
from tests.cli.clirun import WAIT_S, cli_env, free_port


def write(path: Path, port: int, *entries: dict[str, object]) -> None:
    listener = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": port}}
    path.write_text(yaml.safe_dump({"workers": [listener, *entries]}))


async def functions(port: int) -> set[str]:
    async with RawClient(f"ws://127.0.0.1:{port}", timeout_s=WAIT_S, name="test") as client:
        listed = await client.call("engine::functions::list", {})
    return {row["function_id"] for row in listed["functions"]}


async def until_listed(port: int, function: str, present: bool = True) -> None:
    # The reload has no externally visible event; poll with a deadline.
    async with asyncio.timeout(WAIT_S):
        while True:
            if (function in await functions(port)) is present:
                return
            await asyncio.sleep(0.05)


async def test_edit_reloads_and_invalid_edit_exits_1(tmp_path: Path) -> None:
    config, port = tmp_path / "config.yaml", free_port()
    write(config, port, {"name": "iii-pubsub"})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iii_engine",
        "--config",
        str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(),
    )
    try:
        await until_listed(port, "publish")
        write(config, port, {"name": "iii-state", "config": {"adapter": {"name": "memory"}}})
        await until_listed(port, "state::get")
        await until_listed(port, "publish", present=False)

        config.write_text("workers:\n  - name: iii-state\n    config: {adapter: {name: nope}}\n")
        async with asyncio.timeout(WAIT_S):
            code = await process.wait()
        assert code == 1
        _, err = await process.communicate()
        assert "workers[0].config.adapter" in err.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
