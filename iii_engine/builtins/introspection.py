"""The ``engine::*`` functions and the discovery trigger types (docs/protocol.md section 5)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import msgspec

from iii_engine.builtins.args import (
    FunctionsInfoInput,
    FunctionsListInput,
    IdInput,
    RegisteredListInput,
    RegisterTriggerInput,
    TriggersInfoInput,
    TriggersListInput,
    WorkersInfoInput,
    WorkersListInput,
    decode,
)
from iii_engine.builtins.discovery import DiscoveryType
from iii_engine.builtins.host import LocalWorkerContext
from iii_engine.builtins.rows import (
    FunctionSummary,
    WorkerSummary,
    function_detail,
    function_summary,
    registered_trigger_detail,
    registered_trigger_summary,
    trigger_type_detail,
    trigger_type_summary,
    worker_summary,
)
from iii_engine.core.ownership import held_by_other
from iii_engine.core.peer import AccessSession
from iii_engine.core.registry import DEFAULT_NAMESPACE, FunctionEntry
from iii_engine.core.triggers import Binding, RegistrationFailed, TriggerRegistry
from iii_engine.core.workers import WorkerTable
from iii_sdk import errors
from iii_sdk.errors import InvocationError
from iii_sdk.protocol import from_raw, new_id


def to_builtins(value: Any) -> dict[str, Any]:
    """An answer holding rows (Structs) as plain values: in-process callers get what a worker
    would decode."""
    out: dict[str, Any] = msgspec.to_builtins(value)
    return out


__all__ = ["DiscoveryType", "Introspection"]

FUNCTIONS_POLL_S = 5.0


def _hidden(entry: FunctionEntry) -> bool:
    fid = entry.function_id
    if fid.startswith("engine::") and not fid.startswith("engine::queue::"):
        return True
    metadata = from_raw(entry.metadata)
    return isinstance(metadata, dict) and metadata.get("internal") is True


class Introspection:
    """Registers the engine's own functions and discovery trigger types.

    ``builtin_rows()`` returns the ``WorkerSummary`` rows of the in-process workers.
    """

    def __init__(
        self,
        ctx: LocalWorkerContext,
        *,
        workers: WorkerTable,
        triggers: TriggerRegistry,
        builtin_rows: Callable[[], list[WorkerSummary]],
    ) -> None:
        self.ctx = ctx
        self.workers = workers
        self.functions = workers.functions
        self.triggers = triggers
        self._builtin_rows = builtin_rows
        self._poller: asyncio.Task[None] | None = None

    async def install(self) -> None:
        """Register ``engine::*`` functions and the two discovery trigger types."""
        ctx = self.ctx
        table = {
            "engine::functions::list": self.functions_list,
            "engine::functions::info": self.functions_info,
            "engine::workers::list": self.workers_list,
            "engine::workers::info": self.workers_info,
            "engine::workers::register": self.workers.register_worker,
            "engine::triggers::list": self.triggers_list,
            "engine::triggers::info": self.triggers_info,
            "engine::registered-triggers::list": self.registered_list,
            "engine::registered-triggers::info": self.registered_info,
            "engine::register_trigger": self.register_trigger,
            "engine::unregister_trigger": self.unregister_trigger,
        }
        for function_id, handler in table.items():
            ctx.register_function(function_id, handler, description=handler.__doc__)
        ctx.register_trigger_type(
            DiscoveryType("engine::workers-available", "Worker connected, updated, disconnected")
        )
        ctx.register_trigger_type(
            DiscoveryType("engine::functions-available", "The set of functions changed")
        )
        await ctx.settle()
        self._poller = asyncio.get_running_loop().create_task(self._poll_functions())

    async def close(self) -> None:
        """Stop the functions-available poller."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    async def _poll_functions(self) -> None:
        functions = self.functions
        seen = functions.keys()
        while True:
            await asyncio.sleep(FUNCTIONS_POLL_S)
            current = functions.keys()
            if current != seen:
                seen = current
                self._announce_functions()

    def _announce_functions(self) -> None:
        """Fire ``engine::functions-available``; a session's bindings see what it may call."""
        rows = [(entry, function_summary(entry)) for entry in self.functions.all()]
        everything = to_builtins({"event": "functions_changed", "functions": [r for _, r in rows]})

        def payload_for(binding: Binding) -> Any:
            session = None if binding.owner is None else binding.owner.session
            if session is None:
                return everything
            visible = [row for entry, row in rows if session.visible(entry)]
            return to_builtins({"event": "functions_changed", "functions": visible})

        self.triggers.fire_each("engine::functions-available", payload_for)

    # --- functions -------------------------------------------------------------------------------

    async def functions_list(self, payload: Any) -> dict[str, Any]:
        """List registered functions."""
        query = decode(payload, FunctionsListInput, "engine::functions::list")
        prefix, search = query.prefix, query.search
        wanted = set(query.workers or ())
        if query.worker:
            wanted.add(query.worker)
        include_internal = bool(query.include_internal)
        rows: list[tuple[int, FunctionSummary]] = []
        needle = search.lower() if search else None
        session = self._session_of(query.caller_worker_id)
        for entry in self.functions.all():
            if not include_internal and _hidden(entry):
                continue
            if session is not None and not session.visible(entry):
                continue
            if prefix and not entry.function_id.startswith(prefix):
                continue
            row = function_summary(entry)
            if wanted and row.worker_name not in wanted:
                continue
            rank = 0
            if needle is not None:
                rank = _search_rank(entry, needle)
                if rank < 0:
                    continue
            rows.append((rank, row))
        rows.sort(key=lambda r: (r[0], r[1].function_id, r[1].namespace))
        return to_builtins({"functions": [row for _, row in rows]})

    async def functions_info(self, payload: Any) -> dict[str, Any]:
        """Describe one function (``function_id``) or up to 32 (``function_ids``)."""
        query = decode(payload, FunctionsInfoInput, "engine::functions::info")
        single, many = query.function_id, query.function_ids
        if (single is None) == (many is None):
            raise InvocationError(
                errors.INVALID_ARGUMENTS, "Provide exactly one of function_id or function_ids."
            )
        namespace = query.namespace
        session = self._session_of(query.caller_worker_id)
        if single is not None:
            found = self._find_function(single, namespace)
            if session is not None and not session.visible(found):
                raise InvocationError(errors.NOT_FOUND, f"Function '{single}' was not found.")
            return to_builtins(function_detail(self.triggers, found))
        if many is None or not 1 <= len(many) <= 32:
            raise InvocationError(
                errors.INVALID_ARGUMENTS, "function_ids must hold between 1 and 32 ids."
            )
        out: list[Any] = []
        for function_id in dict.fromkeys(many):
            try:
                entry = self._find_function(function_id, namespace)
                if session is not None and not session.visible(entry):
                    raise InvocationError(errors.NOT_FOUND, "not found")
                out.append(function_detail(self.triggers, entry))
            except InvocationError:
                out.append({"function_id": function_id, "error": "not_found"})
        return to_builtins({"functions": out})

    def _session_of(self, caller_worker_id: str | None) -> AccessSession | None:
        """The access session of the calling connection (RBAC filters what it may see)."""
        if caller_worker_id is None:
            return None
        conn = self.workers.connections.get(caller_worker_id)
        return None if conn is None else conn.session

    def _find_function(self, function_id: str, namespace: str | None) -> FunctionEntry:
        functions = self.functions
        if namespace is not None:
            entry = functions.get(namespace, function_id)
        else:
            entry = functions.get(DEFAULT_NAMESPACE, function_id)
            if entry is None:
                spaces = functions.namespaces_of(function_id)
                if len(spaces) > 1:
                    raise InvocationError(
                        errors.NOT_FOUND,
                        f"Function '{function_id}' is registered in several namespaces: "
                        f"{', '.join(spaces)}. Pass namespace.",
                    )
                entry = functions.get(spaces[0], function_id) if spaces else None
        if entry is None:
            raise InvocationError(errors.NOT_FOUND, f"Function '{function_id}' was not found.")
        return entry

    # --- workers ---------------------------------------------------------------------------------

    async def workers_list(self, payload: Any) -> dict[str, Any]:
        """List connected workers (those that reported a pid) and in-process workers."""
        query = decode(payload, WorkersListInput, "engine::workers::list")
        rows = [
            worker_summary(self.workers, conn)
            for conn in self.workers.connections.values()
            if conn.pid is not None and not conn.closing
        ]
        rows.extend(self._builtin_rows())
        runtime, status = query.runtime, query.status
        search = (query.search or "").lower()
        rows = [
            r
            for r in rows
            if (runtime is None or r.runtime == runtime)
            and (status is None or r.status == status)
            and (not search or search in (r.name or "").lower())
        ]
        rows.sort(key=lambda r: (r.name or r.id, r.id))
        return to_builtins({"workers": rows})

    async def workers_info(self, payload: Any) -> dict[str, Any]:
        """Describe one connected worker by name."""
        query = decode(payload, WorkersInfoInput, "engine::workers::info")
        name, namespace = query.name, query.namespace
        matches = [
            c
            for c in self.workers.connections.values()
            if c.name == name and not c.closing and (namespace is None or c.namespace == namespace)
        ]
        if not matches:
            raise InvocationError(errors.NOT_FOUND, f"Worker '{name}' is not connected.")
        if len(matches) > 1:
            spaces = ", ".join(sorted(c.namespace for c in matches))
            raise InvocationError(
                errors.NOT_FOUND, f"Worker '{name}' is connected in several namespaces: {spaces}."
            )
        conn = matches[0]
        worker: dict[str, Any] = to_builtins(worker_summary(self.workers, conn))
        worker["internal"] = False
        if conn.pid is not None:
            worker["pid"] = conn.pid
        functions = [
            function_summary(entry) for entry in self.functions.all() if entry.owner is conn
        ]
        types = [
            trigger_type_summary(entry)
            for entry in self.triggers.types.values()
            if entry.owner is conn
        ]
        bindings = [
            registered_trigger_summary(self.functions, b)
            for b in self.triggers.live.values()
            if b.owner is conn
        ]
        return to_builtins(
            {
                "worker": worker,
                "functions": sorted(functions, key=lambda r: r.function_id),
                "trigger_types": sorted(types, key=lambda r: r.id),
                "registered_triggers": sorted(bindings, key=lambda r: r.id),
            }
        )

    # --- trigger types and bindings --------------------------------------------------------------

    async def triggers_list(self, payload: Any) -> dict[str, Any]:
        """List trigger types."""
        query = decode(payload, TriggersListInput, "engine::triggers::list")
        prefix, search, worker = query.prefix, query.search, query.worker
        include_internal = bool(query.include_internal)
        rows = []
        for entry in self.triggers.types.values():
            row = trigger_type_summary(entry)
            if not include_internal and entry.id.startswith("engine::"):
                continue
            if prefix and not entry.id.startswith(prefix):
                continue
            if search and search.lower() not in f"{entry.id} {row.description}".lower():
                continue
            if worker and row.worker_name != worker:
                continue
            rows.append(row)
        rows.sort(key=lambda r: (r.id, r.namespace))
        return to_builtins({"triggers": rows})

    async def triggers_info(self, payload: Any) -> dict[str, Any]:
        """Describe a trigger type."""
        query = decode(payload, TriggersInfoInput, "engine::triggers::info")
        type_id, namespace = query.id, query.namespace or DEFAULT_NAMESPACE
        entry = self.triggers.types.get((namespace, type_id))
        if entry is None:
            raise InvocationError(
                errors.NOT_FOUND,
                f"Trigger type '{type_id}' is not registered in namespace '{namespace}'.",
            )
        return to_builtins(trigger_type_detail(entry))

    async def registered_list(self, payload: Any) -> dict[str, Any]:
        """List live bindings."""
        query = decode(payload, RegisteredListInput, "engine::registered-triggers::list")
        search = (query.search or "").lower()
        type_id, function_id, worker = query.trigger_type, query.function_id, query.worker
        include_internal = bool(query.include_internal)
        rows = []
        for binding in self.triggers.live.values():
            if not include_internal and binding.function_id.startswith("engine::"):
                continue
            if type_id is not None and binding.trigger_type != type_id:
                continue
            if function_id is not None and binding.function_id != function_id:
                continue
            hay = f"{binding.id} {binding.trigger_type} {binding.function_id}".lower()
            if search and search not in hay:
                continue
            row = registered_trigger_summary(self.functions, binding)
            if worker is not None and row.worker_name != worker:
                continue
            rows.append(row)
        rows.sort(key=lambda r: r.id)
        return to_builtins({"registered_triggers": rows})

    async def registered_info(self, payload: Any) -> dict[str, Any]:
        """Describe one live binding."""
        binding_id = decode(payload, IdInput, "engine::registered-triggers::info").id
        binding = self.triggers.live.get(binding_id)
        if binding is None:
            raise InvocationError(
                errors.NOT_FOUND, f"Registered trigger '{binding_id}' was not found."
            )
        return to_builtins(registered_trigger_detail(self.functions, self.triggers, binding))

    async def register_trigger(self, payload: Any) -> dict[str, Any]:
        """Create an ownerless (durable) binding; returns its id."""
        query = decode(payload, RegisterTriggerInput, "engine::register_trigger")
        binding = Binding(
            id=new_id(),
            trigger_type=query.trigger_type,
            function_id=query.function_id,
            config=query.config,
            metadata=query.metadata,
            trigger_namespace=query.trigger_namespace,
        )
        try:
            await self.triggers.add_binding(binding)
        except RegistrationFailed as exc:
            raise InvocationError(errors.TRIGGER_REGISTRATION_FAILED, str(exc)) from exc
        return {"id": binding.id}

    async def unregister_trigger(self, payload: Any) -> dict[str, Any]:
        """Remove a binding by id."""
        query = decode(payload, IdInput, "engine::unregister_trigger")
        held = self.triggers.binding(query.id)
        if (
            held is not None
            and held.owner is not None
            and held_by_other(held, query.caller_worker_id)
        ):
            raise InvocationError(
                errors.UNREGISTER_FAILED,
                f"trigger '{query.id}' belongs to another worker; only the connection "
                "that registered it may unregister it",
            )
        return {"removed": await self.triggers.remove_binding(query.id)}


def _search_rank(entry: FunctionEntry, needle: str) -> int:
    fid = entry.function_id.lower()
    if fid.startswith(needle) or needle in fid.split("::"):
        return 0
    if needle in fid:
        return 1
    if entry.description and needle in entry.description.lower():
        return 2
    return -1
