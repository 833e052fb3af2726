"""Start-up warnings about listeners reachable beyond loopback without authentication."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["ListenerExposure", "is_loopback", "open_listener_warnings"]


@dataclass(frozen=True)
class ListenerExposure:
    """Where a listener is bound and whether it authenticates its connections."""

    host: str
    port: int
    authenticated: bool


def is_loopback(host: str) -> bool:
    """True for hosts only this machine can reach (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def open_listener_warnings(listeners: list[ListenerExposure]) -> list[str]:
    """One line per listener bound beyond loopback whose connections are not authenticated."""
    warnings = []
    for listener in listeners:
        if is_loopback(listener.host) or listener.authenticated:
            continue
        warnings.append(
            f"  WARNING   {listener.host}:{listener.port} accepts workers from the network "
            "without authentication (set rbac.auth_function_id; see docs/security.md)"
        )
    return warnings
