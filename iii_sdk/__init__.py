"""iii-py SDK: workers, functions, triggers and the plugin API, over the iii wire protocol."""

from iii_sdk.actions import Enqueue, TriggerAction, Void
from iii_sdk.channels import ChannelError, ChannelReader, ChannelWriter
from iii_sdk.errors import (
    ConfigError,
    IIIError,
    InvocationError,
    ProtocolError,
    RegistrationRejected,
)
from iii_sdk.hookspecs import hookimpl
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
from iii_sdk.sync import SyncWorker
from iii_sdk.worker import (
    FunctionHandle,
    RemoteContext,
    TriggerHandle,
    TriggerTypeHandle,
    Worker,
)

__all__ = [  # noqa: RUF022 - grouped by topic, sorted within a group
    # errors
    "ConfigError",
    "IIIError",
    "InvocationError",
    "ProtocolError",
    "RegistrationRejected",
    # workers
    "FunctionHandle",
    "RemoteContext",
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
