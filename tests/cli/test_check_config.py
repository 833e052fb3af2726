"""``iii check-config`` as a subprocess: what it checks beyond syntax, and how it says it."""

from __future__ import annotations

from pathlib import Path

from tests.cli.clirun import iii


async def test_one_worker_is_singular(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("workers:\n  - name: iii-worker-manager\n")
    run = await iii("check-config", str(config))
    assert (run.code, run.out) == (0, f"{config}: OK (1 worker: iii-worker-manager)\n")


async def test_missing_command_and_cwd_are_errors(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "workers:\n"
        "  - name: a\n    command: [no-such-program-iii, run]\n"
        "  - name: b\n    command: [sh, -c, 'true']\n    cwd: gone\n"
        "  - name: c\n    command: [sh, -c, 'true']\n"
    )
    run = await iii("check-config", str(config))
    assert run.code == 1
    assert run.err.splitlines() == [
        "Error: workers[0].command: 'no-such-program-iii' is not found on PATH "
        "(install it, or give its full path)",
        f"Error: workers[1].cwd: directory {str(tmp_path / 'gone')!r} does not exist",
    ]


async def test_typos_get_suggestions(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("workers:\n  - name: iii-htp\n")
    run = await iii("check-config", str(config))
    assert run.code == 1
    assert run.err.startswith(
        "Error: workers[0].name: unknown worker 'iii-htp'; did you mean iii-http?"
    )


async def test_yaml_error_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("workers: [\n")
    run = await iii("check-config", str(config))
    assert run.code == 1
    assert run.err.startswith(f"Error: {config}: invalid YAML: ")
