"""The iii error tree, the wire :class:`ErrorBody`, and the one mapping between them.

:func:`error_body` turns an exception raised by a handler into the body sent on the wire;
:func:`invocation_error` turns a received body back into an :class:`InvocationError`. The engine
and the SDK both use these two, so a code, message and stacktrace survive any number of hops.

::

    IIIError
    ├── ProtocolError            a frame that is not a known iii message
    ├── InvocationError          an invocation failed; ``code`` is the wire ErrorBody.code
    ├── RegistrationRejected     the engine refused a worker name or a function id
    └── ConfigError (ValueError) a config file or block is invalid; ``path`` names the key

Error codes used on the wire are exported as constants (``FUNCTION_NOT_FOUND`` …).
"""

from __future__ import annotations

import traceback
from typing import Final

import msgspec

__all__ = [
    "CHANNEL_SEND_FAILED",
    "DESERIALIZATION_ERROR",
    "ENQUEUE_ERROR",
    "FORBIDDEN",
    "FUNCTION_NAMESPACE_CONFLICT",
    "FUNCTION_NOT_FOUND",
    "INVALID_ARGUMENTS",
    "INVALID_NAMESPACE",
    "INVOCATION_ERROR",
    "INVOCATION_FAILED",
    "INVOCATION_STOPPED",
    "LIMIT_EXCEEDED",
    "NOT_FOUND",
    "SERIALIZATION_ERROR",
    "SHUTDOWN",
    "TIMEOUT",
    "TRIGGER_REGISTRATION_FAILED",
    "UNKNOWN",
    "UNREGISTER_FAILED",
    "WORKER_NAMESPACE_CONFLICT",
    "ConfigError",
    "ErrorBody",
    "IIIError",
    "InvocationError",
    "ProtocolError",
    "RegistrationRejected",
    "error_body",
    "invocation_error",
]

FUNCTION_NOT_FOUND: Final = "function_not_found"
INVOCATION_STOPPED: Final = "invocation_stopped"
INVOCATION_FAILED: Final = "invocation_failed"
INVOCATION_ERROR: Final = "invocation_error"
CHANNEL_SEND_FAILED: Final = "channel_send_failed"
ENQUEUE_ERROR: Final = "enqueue_error"
FORBIDDEN: Final = "FORBIDDEN"
INVALID_NAMESPACE: Final = "INVALID_NAMESPACE"
NOT_FOUND: Final = "NOT_FOUND"
INVALID_ARGUMENTS: Final = "INVALID_ARGUMENTS"
DESERIALIZATION_ERROR: Final = "deserialization_error"
SERIALIZATION_ERROR: Final = "serialization_error"
TRIGGER_REGISTRATION_FAILED: Final = "trigger_registration_failed"
UNREGISTER_FAILED: Final = "unregister_failed"
WORKER_NAMESPACE_CONFLICT: Final = "WORKER_NAMESPACE_CONFLICT"
FUNCTION_NAMESPACE_CONFLICT: Final = "FUNCTION_NAMESPACE_CONFLICT"
TIMEOUT: Final = "TIMEOUT"
SHUTDOWN: Final = "SHUTDOWN"
LIMIT_EXCEEDED: Final = "LIMIT_EXCEEDED"
UNKNOWN: Final = "UNKNOWN"


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """An error as carried by ``invocationresult`` / ``triggerregistrationresult``."""

    code: str
    message: str
    stacktrace: str | None = None


class IIIError(Exception):
    """Root of every error raised by iii-py."""


class ProtocolError(IIIError):
    """A frame could not be decoded as an iii protocol message."""


class InvocationError(IIIError):
    """An invocation failed.

    ``code`` is the wire ``ErrorBody.code`` (``function_not_found``, ``invocation_stopped``,
    ``invocation_failed`` …) or a local one (``TIMEOUT``, ``SHUTDOWN``). Raise it from a handler to
    answer with a specific code::

        raise InvocationError("NOT_FOUND", "no such user")
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        function_id: str | None = None,
        invocation_id: str | None = None,
        stacktrace: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.function_id = function_id
        self.invocation_id = invocation_id
        self.stacktrace = stacktrace


class RegistrationRejected(IIIError):
    """The engine refused a registration (``WORKER_NAMESPACE_CONFLICT`` …)."""

    def __init__(
        self,
        code: str,
        namespace: str,
        *,
        owner_worker_id: str = "",
        worker_name: str | None = None,
        function_id: str | None = None,
    ) -> None:
        what = function_id or worker_name or ""
        super().__init__(
            f"{code}: {what!r} in namespace {namespace!r} owned by {owner_worker_id!r}"
        )
        self.code = code
        self.namespace = namespace
        self.owner_worker_id = owner_worker_id
        self.worker_name = worker_name
        self.function_id = function_id


class ConfigError(IIIError, ValueError):
    """Invalid configuration; ``path`` names the offending key (``workers[2].config.port``)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def error_body(exc: BaseException) -> ErrorBody:
    """The wire error for an exception raised by a function's handler.

    An :class:`InvocationError` keeps its code, message and stacktrace; anything else is
    ``invocation_failed`` with the exception's text (its class name when empty) and traceback.
    """
    if isinstance(exc, InvocationError):
        return ErrorBody(code=exc.code, message=exc.message, stacktrace=exc.stacktrace)
    return ErrorBody(
        code=INVOCATION_FAILED,
        message=str(exc) or type(exc).__name__,
        stacktrace="".join(traceback.format_exception(exc)),
    )


def invocation_error(
    body: ErrorBody, *, function_id: str | None = None, invocation_id: str | None = None
) -> InvocationError:
    """The exception a caller gets for an error ``body`` (an empty code becomes ``UNKNOWN``)."""
    return InvocationError(
        body.code or UNKNOWN,
        body.message,
        function_id=function_id,
        invocation_id=invocation_id,
        stacktrace=body.stacktrace,
    )
