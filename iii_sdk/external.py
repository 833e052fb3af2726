"""Functions that live outside any worker: the engine calls them over HTTP.

A worker registers such a function with an ``invocation`` block (an
:class:`~iii_sdk.protocol.HttpInvocationRef`). The engine hands the block to the running
built-in whose ``BuiltinWorker.external_functions()`` returns an :class:`ExternalFunctionHost`
(``iii-http-functions``), which checks it
against its security policy and returns the handler the engine runs for every call. A refusal
(:class:`ExternalFunctionRefused`) leaves the function unregistered.
"""

from __future__ import annotations

from typing import Protocol

from iii_sdk.handlers import AsyncHandler
from iii_sdk.protocol import HttpInvocationRef

__all__ = ["ExternalFunctionHost", "ExternalFunctionRefused"]


class ExternalFunctionRefused(Exception):
    """The reference was refused; ``code`` is upstream's (``url_validation_failed`` …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ExternalFunctionHost(Protocol):
    """A built-in worker able to serve functions registered with an ``invocation`` block."""

    async def external_function(
        self, function_id: str, invocation: HttpInvocationRef
    ) -> AsyncHandler:
        """Validate ``invocation``; return ``await handler(payload, metadata)`` for its calls.

        Raises :class:`ExternalFunctionRefused` when the reference may not be used.
        """
        ...
