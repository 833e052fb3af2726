"""The ``iii-http-functions`` worker: one shared HTTP session, the policy, the functions."""

from __future__ import annotations

import logging

import aiohttp

from iii_sdk.external import ExternalFunctionHost
from iii_sdk.handlers import AsyncHandler
from iii_sdk.plugin import BuiltinWorker, WorkerContext
from iii_sdk.protocol import HttpInvocationRef
from plugins.http_functions.config import HttpFunctionsConfig
from plugins.http_functions.invoker import HttpFunction
from plugins.http_functions.security import UrlPolicy
from plugins.http_functions.signing import signer_for

__all__ = ["HttpFunctionsWorker"]

log = logging.getLogger("iii.http-functions")


class HttpFunctionsWorker(BuiltinWorker, ExternalFunctionHost):
    """Serves functions registered with an ``invocation`` block (an ``ExternalFunctionHost``)."""

    def __init__(self, config: HttpFunctionsConfig) -> None:
        self.config = config
        self.policy = UrlPolicy(config.security)
        self._session: aiohttp.ClientSession | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Open the shared client session (the policy's resolver guards every connection)."""
        connector = aiohttp.TCPConnector(
            limit=self.config.max_connections, resolver=self.policy.resolver, use_dns_cache=False
        )
        self._session = aiohttp.ClientSession(connector=connector, trust_env=False)

    async def stop(self) -> None:
        """Close the session (in-flight calls fail with ``http_request_failed``)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def external_functions(self) -> ExternalFunctionHost:
        """This worker hosts the HTTP-invoked functions."""
        return self

    async def external_function(
        self, function_id: str, invocation: HttpInvocationRef
    ) -> AsyncHandler:
        """Check the URL and the auth block; return the function's handler."""
        url = await self.policy.check(invocation.url)
        signer = signer_for(invocation.auth)
        assert self._session is not None, "iii-http-functions is not started"
        log.info("HTTP function %s -> %s %s", function_id, invocation.method, url)
        return HttpFunction(
            self._session, function_id, url, invocation, signer, self.config.default_timeout_ms
        )
