"""iii-py SDK: workers, functions, triggers and the plugin API, over the iii wire protocol."""

from iii_sdk.errors import (
    ConfigError,
    IIIError,
    InvocationError,
    ProtocolError,
    RegistrationRejected,
)

__all__ = [
    # errors
    "ConfigError",
    "IIIError",
    "InvocationError",
    "ProtocolError",
    "RegistrationRejected",
]
