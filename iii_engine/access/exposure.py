"""Start-up warnings about listeners reachable beyond loopback without authentication."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iii_engine.server.listener import Listener

__all__ = ["is_loopback", "open_listener_warnings"]


def is_loopback(host: str) -> bool:
    """True for hosts only this machine can reach (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def open_listener_warnings(listeners: list[Listener]) -> list[str]:
    """One line per listener bound beyond loopback whose connections are not authenticated."""
    warnings = []
    for listener in listeners:
        access = listener.access
        if is_loopback(listener.config.host):
            continue
        if access is not None and access.auth_function_id is not None:
            continue
        warnings.append(
            f"  WARNING   {listener.config.host}:{listener.port} accepts workers from the network "
            "without authentication (set rbac.auth_function_id; see docs/security.md)"
        )
    return warnings
