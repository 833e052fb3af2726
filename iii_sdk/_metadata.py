"""Who this worker is: name, namespace and the ``engine::workers::register`` payload."""

from __future__ import annotations

import itertools
import os
import platform
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_URL",
    "resolve_headers",
    "resolve_name",
    "resolve_namespace",
    "resolve_url",
    "sdk_version",
    "worker_metadata",
]

DEFAULT_URL = "ws://127.0.0.1:49134"


@cache
def sdk_version() -> str:
    """This distribution's version (``iii-py``)."""
    try:
        return metadata.version("iii-py")
    except metadata.PackageNotFoundError:  # a source tree that is not installed
        return "0.0.0+unknown"


def resolve_url(url: str | None) -> str:
    """The explicit URL, else ``III_URL``, else the default local engine."""
    return url or os.environ.get("III_URL") or DEFAULT_URL


_default_names = itertools.count(1)


def resolve_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Upgrade headers: ``headers``, plus ``Authorization: Bearer $III_TOKEN`` when that
    variable is set (not blank) and ``headers`` has no ``Authorization`` of its own."""
    resolved = dict(headers or {})
    token = os.environ.get("III_TOKEN", "").strip()
    if token and not any(k.lower() == "authorization" for k in resolved):
        resolved["Authorization"] = f"Bearer {token}"
    return resolved


def resolve_name(name: str | None) -> str:
    """The explicit name, else ``III_WORKER_NAME``, else ``<hostname>:<pid>``.

    The engine allows one live worker per name, so further unnamed workers of the same
    process get ``<hostname>:<pid>-2``, ``-3`` …
    """
    if name or os.environ.get("III_WORKER_NAME"):
        return name or os.environ["III_WORKER_NAME"]
    base = f"{platform.node()}:{os.getpid()}"
    count = next(_default_names)
    return base if count == 1 else f"{base}-{count}"


def resolve_namespace(namespace: str | None) -> str | None:
    """The explicit namespace (blank is an error), else a non-blank ``III_NAMESPACE``."""
    if namespace is not None:
        if not namespace.strip():
            raise ValueError(
                f"namespace is empty ({namespace!r}): give it a name, or leave it unset "
                "to register in the engine's default namespace"
            )
        return namespace
    # A blank variable is how a shell says "unset" (III_NAMESPACE=${NS} with NS unset).
    from_env = os.environ.get("III_NAMESPACE")
    return from_env if from_env and from_env.strip() else None


def _project_name() -> str | None:
    cwd = Path.cwd()
    manifest = cwd / "pyproject.toml"
    if manifest.is_file():
        import tomllib

        try:
            name = tomllib.loads(manifest.read_text()).get("project", {}).get("name")
        except (OSError, ValueError):
            name = None
        if isinstance(name, str) and name.strip():
            return name
    return cwd.name or None


def worker_metadata(name: str, namespace: str | None, description: str | None) -> dict[str, Any]:
    """The payload of ``engine::workers::register`` (protocol section 2.2)."""
    language = os.environ.get("LANG", "").split(".")[0] or None
    payload: dict[str, Any] = {
        "runtime": "python",
        "version": sdk_version(),
        "name": name,
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "pid": os.getpid(),
        "isolation": os.environ.get("III_ISOLATION") or None,
        "namespace": namespace,
        "telemetry": {
            "language": language,
            "project_name": _project_name(),
            "framework": "iii-py",
            "amplitude_api_key": None,
        },
    }
    if description:
        payload["description"] = description
    return payload
