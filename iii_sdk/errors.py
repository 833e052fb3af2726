"""The iii error tree, and the mapping between wire error bodies and exceptions.

::

    IIIError
    ├── ProtocolError            a frame that is not a known iii message
    ├── InvocationError          an invocation failed; ``code`` is the wire ErrorBody.code
    ├── RegistrationRejected     the engine refused a worker name or a function id
    └── ConfigError (ValueError) a config file or block is invalid; ``path`` names the key

Error codes used on the wire are exported as constants (``FUNCTION_NOT_FOUND`` …).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DESERIALIZATION_ERROR",
    "ENQUEUE_ERROR",
    "FORBIDDEN",
    "FUNCTION_NOT_FOUND",
    "INVALID_ARGUMENTS",
    "INVALID_NAMESPACE",
    "INVOCATION_FAILED",
    "INVOCATION_STOPPED",
    "LIMIT_EXCEEDED",
    "NOT_FOUND",
    "SHUTDOWN",
    "TIMEOUT",
    "TRIGGER_REGISTRATION_FAILED",
    "ConfigError",
    "IIIError",
    "InvocationError",
    "ProtocolError",
    "RegistrationRejected",
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
