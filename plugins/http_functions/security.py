"""The security policy of HTTP functions: allowlist, HTTPS, and no private addresses.

:meth:`UrlPolicy.check` runs when a function is registered. :class:`GuardedResolver` is the
shared session's resolver, so the rule on private addresses also holds for the address each
connection actually uses (a name re-pointed at ``127.0.0.1`` after registration is refused).
aiohttp does not resolve IP literals; those are checked by :meth:`UrlPolicy.check`, and the URL
of a function never changes after registration.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from iii_sdk.external import ExternalFunctionRefused
from plugins.http_functions.config import SecurityConfig

__all__ = ["URL_VALIDATION_FAILED", "GuardedResolver", "UrlPolicy", "is_blocked_address"]

URL_VALIDATION_FAILED: Final = "url_validation_failed"


def is_blocked_address(address: str) -> bool:
    """True for every address that is not plainly public (private, loopback, link-local, ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pattern.lower().split("*")))


class UrlPolicy:
    """The ``security`` block, compiled."""

    def __init__(self, config: SecurityConfig) -> None:
        self.config = config
        self.allowlist = [_glob(p) for p in (config.url_allowlist or ["*"])]
        self.resolver = GuardedResolver(self)

    async def check(self, raw_url: str) -> URL:
        """The parsed URL, or :class:`ExternalFunctionRefused` naming what is wrong."""
        try:
            url = URL(raw_url)
        except ValueError as exc:
            raise ExternalFunctionRefused(URL_VALIDATION_FAILED, f"invalid URL: {exc}") from exc
        scheme, host = url.scheme, url.host
        if scheme not in ("http", "https") or not host:
            raise ExternalFunctionRefused(
                URL_VALIDATION_FAILED, f"expected an http(s) URL with a host, got {raw_url!r}"
            )
        if self.config.require_https and scheme != "https":
            raise ExternalFunctionRefused(URL_VALIDATION_FAILED, "the URL must use https")
        if not any(p.fullmatch(host.lower()) for p in self.allowlist):
            raise ExternalFunctionRefused(
                URL_VALIDATION_FAILED, f"host {host!r} is not in security.url_allowlist"
            )
        if self.config.block_private_ips:
            try:
                await self.resolver.resolve(host, url.port or 0, socket.AF_UNSPEC)
            except OSError as exc:
                raise ExternalFunctionRefused(URL_VALIDATION_FAILED, str(exc)) from exc
        return url


class GuardedResolver(AbstractResolver):
    """Resolves like the system does, then refuses names with a blocked address."""

    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy
        self._inner: ThreadedResolver | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Every address of ``host``; OSError when private addresses are blocked and one is."""
        if self._inner is None:
            self._inner = ThreadedResolver()
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            results = await self._inner.resolve(host, port, family)
        else:
            results = [
                ResolveResult(
                    hostname=host,
                    host=str(literal),
                    port=port,
                    family=socket.AF_INET6 if literal.version == 6 else socket.AF_INET,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            ]
        if self.policy.config.block_private_ips:
            blocked = [r["host"] for r in results if is_blocked_address(r["host"])]
            if blocked:
                raise OSError(
                    f"host {host!r} resolves to a non-public address ({blocked[0]}); "
                    "security.block_private_ips refuses it"
                )
        return results

    async def close(self) -> None:
        """Release the inner resolver."""
        if self._inner is not None:
            await self._inner.close()
            self._inner = None
