"""The ``<METHOD> <route>`` span iii-http opens for every routed request while tracing is on."""

from __future__ import annotations

from aiohttp import web

from iii_sdk.observer import Observer, Span
from plugins.http.trigger import Route

__all__ = ["end_span", "server_span"]


def server_span(observer: Observer, request: web.BaseRequest, binding: Route) -> Span:
    """The request's ``<METHOD> <route>`` span, continuing its ``traceparent`` / ``baggage``."""
    headers = request.headers
    return observer.start_span(
        f"{request.method} {binding.path}",
        kind="server",
        traceparent=headers.get("traceparent"),
        baggage=headers.get("baggage"),
        attributes={
            "http.request.method": request.method,
            "http.route": binding.path,
            "url.path": request.path,
        },
    )


def end_span(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.end("http_error", f"HTTP {status}")
    else:
        span.end()
