"""iii-py SDK: workers, functions, triggers and the plugin API, over the iii wire protocol."""

from iii_sdk._outbound import ConnectionClosed
from iii_sdk._remote import RemoteContext
from iii_sdk.actions import Enqueue, TriggerAction, Void
from iii_sdk.channels import ChannelError, ChannelReader, ChannelWriter
from iii_sdk.errors import (
    ConfigError,
    ErrorBody,
    IIIError,
    InvocationError,
    ProtocolError,
    RegistrationRejected,
)
from iii_sdk.hookspecs import hookimpl
from iii_sdk.observe import Observer, ObserveRejected
from iii_sdk.plugin import (
    BuiltinWorker,
    Channel,
    Trigger,
    TriggerContext,
    TriggerType,
    WorkerContext,
    WorkerRegistry,
    WorkerSpec,
    check_condition,
    decode_config,
    decode_input,
)
from iii_sdk.protocol import HttpInvocationRef, StreamChannelRef
from iii_sdk.sync import SyncHandle, SyncWorker
from iii_sdk.worker import (
    FunctionHandle,
    TriggerHandle,
    TriggerTypeHandle,
    Worker,
)

__all__ = [  # noqa: RUF022 - grouped by topic, sorted within a group
    # errors
    "ConfigError",
    "ConnectionClosed",
    "ErrorBody",
    "IIIError",
    "InvocationError",
    "ProtocolError",
    "RegistrationRejected",
    # workers
    "FunctionHandle",
    "ObserveRejected",
    "Observer",
    "RemoteContext",
    "HttpInvocationRef",
    "SyncHandle",
    "SyncWorker",
    "TriggerHandle",
    "TriggerTypeHandle",
    "Worker",
    # trigger actions
    "Enqueue",
    "TriggerAction",
    "Void",
    # data channels
    "ChannelError",
    "ChannelReader",
    "ChannelWriter",
    "StreamChannelRef",
    # plugin authors
    "BuiltinWorker",
    "Channel",
    "Trigger",
    "TriggerContext",
    "TriggerType",
    "WorkerContext",
    "WorkerRegistry",
    "WorkerSpec",
    "check_condition",
    "decode_config",
    "decode_input",
    "hookimpl",
]
