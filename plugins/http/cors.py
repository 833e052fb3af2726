"""CORS (docs/configuration.md): permissive without a ``cors`` block, else the listed origins."""

from __future__ import annotations

from aiohttp import web

from plugins.http.config import CorsConfig

__all__ = ["Cors"]


class Cors:
    """Answers preflight requests and adds CORS headers to every response."""

    def __init__(self, config: CorsConfig | None) -> None:
        origins = [] if config is None else [o.strip() for o in config.allowed_origins]
        self.any_origin = not origins or "*" in origins
        self.origins = frozenset(o.rstrip("/") for o in origins if "://" in o)
        methods = [] if config is None else [m.strip().upper() for m in config.allowed_methods]
        self.methods = ", ".join(methods) if methods else "*"

    def _allow_origin(self, origin: str) -> str | None:
        if self.any_origin:
            return "*"
        return origin if origin.rstrip("/") in self.origins else None

    @staticmethod
    def is_preflight(request: web.BaseRequest) -> bool:
        """An ``OPTIONS`` request carrying ``Access-Control-Request-Method``."""
        return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers

    def preflight(self, request: web.BaseRequest) -> web.Response:
        """The answer to a preflight request (headers only for an allowed origin)."""
        response = web.Response(status=200)
        headers = response.headers
        allowed = self._allow_origin(request.headers.get("Origin", ""))
        if allowed is not None:
            headers["Access-Control-Allow-Origin"] = allowed
            headers["Access-Control-Allow-Methods"] = self.methods
            requested = request.headers.get("Access-Control-Request-Headers")
            headers["Access-Control-Allow-Headers"] = requested or "*"
        if not self.any_origin:
            headers["Vary"] = (
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
            )
        return response

    def response_headers(self, origin: str) -> dict[str, str]:
        """The CORS headers to add to an actual response to a request from ``origin``."""
        headers: dict[str, str] = {}
        allowed = self._allow_origin(origin)
        if allowed is not None:
            headers["Access-Control-Allow-Origin"] = allowed
            headers["Access-Control-Expose-Headers"] = "*"
        if not self.any_origin:
            headers["Vary"] = "Origin"
        return headers
