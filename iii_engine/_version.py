"""The engine version, read once from the installed distribution metadata."""

from __future__ import annotations

from importlib import metadata

__all__ = ["ENGINE_VERSION"]


def _read_version() -> str:
    try:
        return metadata.version("iii-py")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"


ENGINE_VERSION: str = _read_version()
