"""The engine's ``config.yaml``: environment expansion, YAML, and typed entries.

Processing follows upstream iii: the raw text is expanded (``${NAME}`` / ``${NAME:default}``,
comments included), parsed with ``yaml.safe_load``, and only the top-level keys ``workers``,
``modules`` (legacy, appended after ``workers``) and ``registration_namespace_grace_ms`` are
allowed. Each entry becomes a :class:`WorkerEntry`; a worker's own ``config:`` block stays raw
until the engine decodes it into the worker's Struct with :func:`decode_block`, so every error
names its path (``workers[2].config.port: expected int, got str``).

Example::

    config = parse_config("workers:\\n  - name: iii-state\\n", base_dir=Path("."))
    config.workers[0].instance_id  # "iii-state"
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec
import yaml

from iii_engine._version import ENGINE_VERSION
from iii_engine.config import fields
from iii_engine.config.fields import Restart, kind
from iii_engine.config.strict import check_entry_keys, load_yaml
from iii_engine.config.suggest import did_you_mean, struct_keys
from iii_sdk.errors import ConfigError

__all__ = [
    "EXEC_WORKER",
    "IGNORED_ENTRY_NAMES",
    "MIGRATED_PAIRS",
    "EngineConfig",
    "Restart",
    "WorkerEntry",
    "WorkerManagerConfig",
    "decode_block",
    "default_config",
    "expand_env",
    "load_config",
    "parse_config",
]

T = TypeVar("T")

ENV_PATTERN: Final = re.compile(r"\$\{([^}:]+)(?::([^}]*))?\}")
VERSION_PLACEHOLDER: Final = "__III_ENGINE_VERSION__"
TOP_LEVEL_KEYS: Final = ("workers", "modules", "registration_namespace_grace_ms")
EXEC_WORKER: Final = "iii-exec"
IGNORED_ENTRY_NAMES: Final = frozenset({"configuration", "iii-telemetry"})
"""Upstream entries this project accepts and drops (decisions §2.2)."""
MIGRATED_PAIRS: Final = (
    ("iii-http", "http"),
    ("iii-cron", "cron"),
    ("iii-queue", "queue"),
    ("iii-state", "state"),
    ("iii-pubsub", "pubsub"),
    ("iii-stream", "stream"),
)
_AT_PATH: Final = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<where>[^`]*)`)?$", re.DOTALL)
_FIELD_ERROR: Final = re.compile(
    r"^Object (?P<kind>contains unknown|missing required) field `(?P<field>[^`]*)`$"
)


class WorkerManagerConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``config:`` block of an ``iii-worker-manager`` entry (a worker WebSocket listener)."""

    port: int = 49134
    host: str = "0.0.0.0"
    middleware_function_id: str | None = None
    rbac: Any = None
    handshake_timeout_ms: int = 10000
    """A socket must finish its WebSocket upgrade within this time (0: no limit)."""
    max_pending_handshakes: int = 1024
    """Sockets allowed to be mid-handshake at once; more are refused (0: no cap)."""
    ping_interval_ms: int = 30000
    """A worker silent this long is sent a WebSocket ping (0: never)."""
    ping_timeout_ms: int = 10000
    """A worker that then stays silent this long is disconnected."""

    def __post_init__(self) -> None:
        for key in ("handshake_timeout_ms", "max_pending_handshakes", "ping_interval_ms"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0")
        if self.ping_timeout_ms <= 0:
            raise ValueError("ping_timeout_ms must be > 0")

    max_frame_bytes: int = 64 * 1024 * 1024
    """Largest inbound WebSocket message; a larger one closes the socket with 1009."""
    max_pending_invocations: int = 10000
    """Calls a connection may have waiting for a result at once (``LIMIT_EXCEEDED`` beyond)."""


class WorkerEntry(msgspec.Struct, kw_only=True):
    """One entry of the ``workers:`` (or ``modules:``) list.

    ``instance_id`` is unique within a config (repeated names become ``name#1``, ``name#2``);
    ``path`` is where the entry sits in the file (``workers[2]``), for error messages. Entries that
    declare a process have ``command`` (argv, never run through a shell) or, for upstream's
    ``iii-exec``, ``exec`` (shell commands run in sequence, the last kept running). ``cwd`` is
    absolute (a ``command`` entry defaults to the config file's directory, ``exec`` to the
    engine's cwd) and ``watch`` holds absolute glob patterns.
    """

    name: str
    instance_id: str
    index: int
    path: str
    config: Any = None
    image: str | None = None
    command: list[str] | None = None
    exec: list[str] | None = None
    cwd: Path | None = None
    env: dict[str, str] = msgspec.field(default_factory=dict)
    restart: Restart = "on-failure"
    watch: list[str] = msgspec.field(default_factory=list)

    @property
    def is_process(self) -> bool:
        """True when the engine runs this entry as a child process (``command`` or ``exec``)."""
        return self.command is not None or self.exec is not None

    def definition(self) -> tuple[Any, ...]:
        """Everything that defines the worker; two entries with equal definitions are unchanged
        across a reload even when their position in the file moved."""
        return (
            self.name,
            self.image,
            msgspec.json.encode(self.config, order="sorted"),
            self.command,
            self.exec,
            self.cwd,
            sorted(self.env.items()),
            self.restart,
            self.watch,
        )


class EngineConfig(msgspec.Struct, kw_only=True):
    """A parsed configuration.

    ``from_file`` is False only for :func:`default_config`, where the engine runs its default
    built-ins; a parsed config runs exactly its entries plus the mandatory ones. Relative paths in
    entries resolve against ``base_dir`` (the config file's directory).
    """

    workers: list[WorkerEntry]
    base_dir: Path
    path: Path | None = None
    registration_namespace_grace_ms: int = 5000
    from_file: bool = True

    def entry(self, instance_id: str) -> WorkerEntry | None:
        """The entry with this instance id, if any."""
        return next((w for w in self.workers if w.instance_id == instance_id), None)


def expand_env(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Expand ``${NAME}`` / ``${NAME:default}`` in raw config text.

    A set variable wins even when empty; the default ``__III_ENGINE_VERSION__`` gives the engine
    version; an unset variable without a default raises :class:`ConfigError` naming it.
    """
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is None:
            raise ConfigError(
                f"environment variable {name!r} is not set and has no default "
                f"(write ${{{name}:default}} to give one)"
            )
        return ENGINE_VERSION if default == VERSION_PLACEHOLDER else default

    return ENV_PATTERN.sub(replace, text)


def decode_block(block: Any, type_: type[T], path: str) -> T:
    """Convert a raw ``config:`` block into ``type_``; errors name ``path`` and the inner key.

    An absent block (``None``) decodes as ``{}`` so the Struct's defaults apply.
    """
    try:
        return msgspec.convert({} if block is None else block, type_)
    except msgspec.ValidationError as exc:
        match = _AT_PATH.match(str(exc))
        assert match is not None  # the pattern accepts any text
        where = path + (match.group("where") or "")
        message = match.group("msg")
        field = _FIELD_ERROR.match(message)
        if field:
            inner = match.group("where") or ""
            where += f".{field.group('field')}"
            message = (
                "unknown key" + did_you_mean(field.group("field"), struct_keys(type_, inner))
                if field.group("kind") == "contains unknown"
                else "missing required key"
            )
        message = message.replace("`", "")
        raise ConfigError(message[:1].lower() + message[1:], where) from exc


def default_config(base_dir: Path | None = None) -> EngineConfig:
    """The configuration used when there is no file: the engine adds its default built-ins."""
    return EngineConfig(workers=[], base_dir=base_dir or Path.cwd(), from_file=False)


def load_config(path: str | os.PathLike[str]) -> EngineConfig:
    """Read and parse a config file; a missing or unreadable file is a :class:`ConfigError`."""
    file = Path(path).resolve()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: not UTF-8 text "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        return parse_config(text, base_dir=file.parent, path=file)
    except ConfigError as exc:
        if exc.path is None and not exc.message.startswith(str(path)):
            raise ConfigError(f"{path}: {exc.message}") from exc  # YAML errors name the file
        raise


def parse_config(
    text: str, *, base_dir: Path | None = None, path: Path | None = None
) -> EngineConfig:
    """Parse config text (env expansion, YAML, entries) into an :class:`EngineConfig`."""
    root = base_dir if base_dir is not None else (path.parent if path else Path.cwd())
    data = _load_yaml(expand_env(text))
    unknown = sorted(str(k) for k in data if k not in TOP_LEVEL_KEYS)
    if unknown:
        allowed = ", ".join(TOP_LEVEL_KEYS)
        hint = did_you_mean(unknown[0], TOP_LEVEL_KEYS)
        raise ConfigError(f"unknown top-level key{hint} (allowed: {allowed})", unknown[0])
    grace = data.get("registration_namespace_grace_ms", 5000)
    if isinstance(grace, bool) or not isinstance(grace, int) or grace < 0:
        raise ConfigError(
            f"expected a non-negative int, got {grace!r}", "registration_namespace_grace_ms"
        )
    raw_entries = [
        (f"{key}[{i}]", entry)
        for key in ("workers", "modules")
        for i, entry in enumerate(fields.as_list(data.get(key), key))
    ]
    entries: list[WorkerEntry] = []
    seen: dict[str, int] = {}
    for index, (where, raw) in enumerate(raw_entries):
        entry = _parse_entry(raw, where, index, root)
        if entry.name in IGNORED_ENTRY_NAMES:
            continue
        count = seen.get(entry.name, 0)
        seen[entry.name] = count + 1
        if count:
            entry.instance_id = f"{entry.name}#{count}"
        entries.append(entry)
    _check_migrated_pairs(entries)
    return EngineConfig(
        workers=entries,
        base_dir=root.resolve(),
        path=path,
        registration_namespace_grace_ms=grace,
        from_file=True,
    )


def _load_yaml(text: str) -> dict[Any, Any]:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level must be a mapping, got {kind(data)}")
    return data


def _parse_entry(raw: Any, where: str, index: int, base_dir: Path) -> WorkerEntry:
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping with a name, got {kind(raw)}", where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("every entry needs a non-empty string name", f"{where}.name")
    check_entry_keys(raw, where)
    image = raw.get("image")
    if image is not None and not isinstance(image, str):
        raise ConfigError(f"expected a string, got {kind(image)}", f"{where}.image")
    entry = WorkerEntry(
        name=name,
        instance_id=name,
        index=index,
        path=where,
        config=raw.get("config"),
        image=image,
        command=fields.command(raw.get("command"), f"{where}.command"),
        cwd=fields.cwd(raw.get("cwd"), f"{where}.cwd", base_dir),
        env=fields.env(raw.get("env"), f"{where}.env"),
        restart=fields.restart(raw.get("restart"), f"{where}.restart"),
        watch=fields.strings(raw.get("watch"), f"{where}.watch"),
    )
    if name == EXEC_WORKER and entry.command is None:
        _apply_exec_block(entry, raw)
    if entry.command is not None and entry.cwd is None:
        entry.cwd = base_dir.resolve()
    entry.watch = [os.path.normpath(base_dir.resolve() / pattern) for pattern in entry.watch]
    return entry


def _apply_exec_block(entry: WorkerEntry, raw: dict[Any, Any]) -> None:
    block = entry.config
    where = f"{entry.path}.config"
    if not isinstance(block, dict):
        raise ConfigError("iii-exec needs a config block with an exec list", where)
    commands = fields.strings(block.get("exec"), f"{where}.exec")
    if not commands:
        raise ConfigError("expected a non-empty list of shell commands", f"{where}.exec")
    entry.exec = commands
    entry.watch = entry.watch or fields.strings(block.get("watch"), f"{where}.watch")
    # Upstream iii-exec never restarts a crashed pipeline; only an explicit policy changes that.
    if raw.get("restart") is None:
        entry.restart = "never"


def _check_migrated_pairs(entries: list[WorkerEntry]) -> None:
    names = {e.name: e for e in entries}
    for old, new in MIGRATED_PAIRS:
        if old in names and new in names:
            raise ConfigError(
                f"{old!r} and {new!r} are two names of the same worker; keep only one",
                names[new].path,
            )
