"""The ``engine::*`` functions and the discovery trigger types (protocol.md section 5)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from iii_engine.builtins.args import flag as _flag
from iii_engine.builtins.args import obj as _obj
from iii_engine.builtins.args import required as _required
from iii_engine.builtins.args import string as _str
from iii_engine.builtins.discovery import DiscoveryType
from iii_engine.builtins.rows import (
    function_detail,
    function_summary,
    registered_trigger_summary,
    trigger_type_detail,
    trigger_type_summary,
    worker_summary,
)
from iii_engine.core.registry import DEFAULT_NAMESPACE, FunctionEntry
from iii_engine.core.triggers import Binding, RegistrationFailed
from iii_sdk import errors
from iii_sdk.errors import InvocationError
from iii_sdk.protocol import from_raw, new_id

if TYPE_CHECKING:
    from iii_engine.access.session import Session
    from iii_engine.engine import Engine

__all__ = ["DiscoveryType", "Introspection"]

FUNCTIONS_POLL_S = 5.0


def _hidden(entry: FunctionEntry) -> bool:
    fid = entry.function_id
    if fid.startswith("engine::") and not fid.startswith("engine::queue::"):
        return True
    metadata = from_raw(entry.metadata)
    return isinstance(metadata, dict) and metadata.get("internal") is True


class Introspection:
    """Registers the engine's own functions and discovery trigger types."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._poller: asyncio.Task[None] | None = None

    async def install(self) -> None:
        """Register ``engine::*`` functions and the two discovery trigger types."""
        ctx = self.engine.core_context
        table = {
            "engine::functions::list": self.functions_list,
            "engine::functions::info": self.functions_info,
            "engine::workers::list": self.workers_list,
            "engine::workers::info": self.workers_info,
            "engine::workers::register": self.engine.workers.register_worker,
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
        functions = self.engine.functions
        seen = functions.keys()
        while True:
            await asyncio.sleep(FUNCTIONS_POLL_S)
            current = functions.keys()
            if current != seen:
                seen = current
                self._announce_functions()

    def _announce_functions(self) -> None:
        """Fire ``engine::functions-available``; a session's bindings see what it may call."""
        engine = self.engine
        entry = engine.triggers.types.get((DEFAULT_NAMESPACE, "engine::functions-available"))
        if entry is None:
            return
        rows = [(fn, function_summary(engine, fn)) for fn in engine.functions.all()]
        for binding in list(entry.bindings.values()):
            session = None if binding.owner is None else binding.owner.session
            visible = [row for fn, row in rows if session is None or session.visible(fn)]
            engine.router.invoke_void(
                binding.function_id,
                {"event": "functions_changed", "functions": visible},
                metadata=binding.metadata,
                namespace=binding.namespace,
            )

    # --- functions -------------------------------------------------------------------------------

    async def functions_list(self, payload: Any) -> dict[str, Any]:
        """List registered functions."""
        query = _obj(payload, "engine::functions::list")
        prefix, search = _str(query, "prefix"), _str(query, "search")
        wanted = {w for w in (query.get("workers") or []) if isinstance(w, str)}
        if _str(query, "worker"):
            wanted.add(query["worker"])
        include_internal = _flag(query, "include_internal")
        rows: list[tuple[int, dict[str, Any]]] = []
        needle = search.lower() if search else None
        session = self._session_of(query)
        for entry in self.engine.functions.all():
            if not include_internal and _hidden(entry):
                continue
            if session is not None and not session.visible(entry):
                continue
            if prefix and not entry.function_id.startswith(prefix):
                continue
            row = function_summary(self.engine, entry)
            if wanted and row["worker_name"] not in wanted:
                continue
            rank = 0
            if needle is not None:
                rank = _search_rank(entry, needle)
                if rank < 0:
                    continue
            rows.append((rank, row))
        rows.sort(key=lambda r: (r[0], r[1]["function_id"], r[1]["namespace"]))
        return {"functions": [row for _, row in rows]}

    async def functions_info(self, payload: Any) -> dict[str, Any]:
        """Describe one function (``function_id``) or up to 32 (``function_ids``)."""
        query = _obj(payload, "engine::functions::info")
        single, many = query.get("function_id"), query.get("function_ids")
        if (single is None) == (many is None):
            raise InvocationError(
                errors.INVALID_ARGUMENTS, "Provide exactly one of function_id or function_ids."
            )
        namespace = _str(query, "namespace")
        session = self._session_of(query)
        if single is not None:
            entry = self._find_function(str(single), namespace)
            if session is not None and not session.visible(entry):
                raise InvocationError(errors.NOT_FOUND, f"Function '{single}' was not found.")
            return function_detail(self.engine, entry)
        if not isinstance(many, list) or not 1 <= len(many) <= 32:
            raise InvocationError(
                errors.INVALID_ARGUMENTS, "function_ids must hold between 1 and 32 ids."
            )
        out: list[dict[str, Any]] = []
        for function_id in dict.fromkeys(str(f) for f in many):
            try:
                entry = self._find_function(function_id, namespace)
                if session is not None and not session.visible(entry):
                    raise InvocationError(errors.NOT_FOUND, "not found")
                out.append(function_detail(self.engine, entry))
            except InvocationError:
                out.append({"function_id": function_id, "error": "not_found"})
        return {"functions": out}

    def _session_of(self, query: dict[str, Any]) -> Session | None:
        """The access session of the calling connection (RBAC filters what it may see)."""
        conn = self.engine.workers.connections.get(str(query.get("_caller_worker_id")))
        return None if conn is None else conn.session

    def _find_function(self, function_id: str, namespace: str | None) -> FunctionEntry:
        functions = self.engine.functions
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
        query = _obj(payload, "engine::workers::list")
        rows = [
            worker_summary(self.engine, conn)
            for conn in self.engine.workers.connections.values()
            if conn.pid is not None and not conn.closing
        ]
        rows.extend(self.engine.builtin_rows())
        runtime, status = _str(query, "runtime"), _str(query, "status")
        search = (_str(query, "search") or "").lower()
        rows = [
            r
            for r in rows
            if (runtime is None or r["runtime"] == runtime)
            and (status is None or r["status"] == status)
            and (not search or search in (r["name"] or "").lower())
        ]
        rows.sort(key=lambda r: (r["name"] or r["id"], r["id"]))
        return {"workers": rows}

    async def workers_info(self, payload: Any) -> dict[str, Any]:
        """Describe one connected worker by name."""
        query = _obj(payload, "engine::workers::info")
        name = _required(query, "name", "engine::workers::info")
        namespace = _str(query, "namespace")
        matches = [
            c
            for c in self.engine.workers.connections.values()
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
        worker = worker_summary(self.engine, conn)
        worker["internal"] = False
        if conn.pid is not None:
            worker["pid"] = conn.pid
        functions = [
            function_summary(self.engine, entry)
            for entry in self.engine.functions.all()
            if entry.owner is conn
        ]
        types = [
            trigger_type_summary(entry)
            for entry in self.engine.triggers.types.values()
            if entry.owner is conn
        ]
        bindings = [
            registered_trigger_summary(self.engine, b)
            for b in self.engine.triggers.live.values()
            if b.owner is conn
        ]
        return {
            "worker": worker,
            "functions": sorted(functions, key=lambda r: r["function_id"]),
            "trigger_types": sorted(types, key=lambda r: r["id"]),
            "registered_triggers": sorted(bindings, key=lambda r: r["id"]),
        }

    # --- trigger types and bindings --------------------------------------------------------------

    async def triggers_list(self, payload: Any) -> dict[str, Any]:
        """List trigger types."""
        query = _obj(payload, "engine::triggers::list")
        prefix, search, worker = _str(query, "prefix"), _str(query, "search"), _str(query, "worker")
        include_internal = _flag(query, "include_internal")
        rows = []
        for entry in self.engine.triggers.types.values():
            row = trigger_type_summary(entry)
            if not include_internal and entry.id.startswith("engine::"):
                continue
            if prefix and not entry.id.startswith(prefix):
                continue
            if search and search.lower() not in f"{entry.id} {row['description']}".lower():
                continue
            if worker and row["worker_name"] != worker:
                continue
            rows.append(row)
        rows.sort(key=lambda r: (r["id"], r["namespace"]))
        return {"triggers": rows}

    async def triggers_info(self, payload: Any) -> dict[str, Any]:
        """Describe a trigger type."""
        query = _obj(payload, "engine::triggers::info")
        type_id = _required(query, "id", "engine::triggers::info")
        namespace = _str(query, "namespace") or DEFAULT_NAMESPACE
        entry = self.engine.triggers.types.get((namespace, type_id))
        if entry is None:
            raise InvocationError(
                errors.NOT_FOUND,
                f"Trigger type '{type_id}' is not registered in namespace '{namespace}'.",
            )
        return trigger_type_detail(entry)

    async def registered_list(self, payload: Any) -> dict[str, Any]:
        """List live bindings."""
        query = _obj(payload, "engine::registered-triggers::list")
        search = (_str(query, "search") or "").lower()
        type_id, function_id = _str(query, "trigger_type"), _str(query, "function_id")
        worker = _str(query, "worker")
        include_internal = _flag(query, "include_internal")
        rows = []
        for binding in self.engine.triggers.live.values():
            if not include_internal and binding.function_id.startswith("engine::"):
                continue
            if type_id is not None and binding.trigger_type != type_id:
                continue
            if function_id is not None and binding.function_id != function_id:
                continue
            hay = f"{binding.id} {binding.trigger_type} {binding.function_id}".lower()
            if search and search not in hay:
                continue
            row = registered_trigger_summary(self.engine, binding)
            if worker is not None and row["worker_name"] != worker:
                continue
            rows.append(row)
        rows.sort(key=lambda r: r["id"])
        return {"registered_triggers": rows}

    async def registered_info(self, payload: Any) -> dict[str, Any]:
        """Describe one live binding."""
        query = _obj(payload, "engine::registered-triggers::info")
        binding_id = _required(query, "id", "engine::registered-triggers::info")
        binding = self.engine.triggers.live.get(binding_id)
        if binding is None:
            raise InvocationError(
                errors.NOT_FOUND, f"Registered trigger '{binding_id}' was not found."
            )
        row = registered_trigger_summary(self.engine, binding)
        del row["config_summary"]
        if binding.metadata is not None:
            row["metadata"] = binding.metadata
        provider = binding.provider
        row["trigger"] = None if provider is None else trigger_type_detail(provider)
        entry = self.engine.functions.get(binding.namespace, binding.function_id)
        row["function"] = None if entry is None else function_detail(self.engine, entry)
        return row

    async def register_trigger(self, payload: Any) -> dict[str, Any]:
        """Create an ownerless (durable) binding; returns its id."""
        query = _obj(payload, "engine::register_trigger")
        type_id = _required(query, "trigger_type", "engine::register_trigger")
        function_id = _required(query, "function_id", "engine::register_trigger")
        binding = Binding(
            id=new_id(),
            trigger_type=type_id,
            function_id=function_id,
            config=query.get("config"),
            metadata=query.get("metadata"),
            trigger_namespace=_str(query, "trigger_namespace"),
        )
        try:
            await self.engine.triggers.add_binding(binding)
        except RegistrationFailed as exc:
            raise InvocationError(errors.TRIGGER_REGISTRATION_FAILED, str(exc)) from exc
        return {"id": binding.id}

    async def unregister_trigger(self, payload: Any) -> dict[str, Any]:
        """Remove a binding by id."""
        query = _obj(payload, "engine::unregister_trigger")
        binding_id = _required(query, "id", "engine::unregister_trigger")
        return {"removed": await self.engine.triggers.remove_binding(binding_id)}


def _search_rank(entry: FunctionEntry, needle: str) -> int:
    fid = entry.function_id.lower()
    if fid.startswith(needle) or needle in fid.split("::"):
        return 0
    if needle in fid:
        return 1
    if entry.description and needle in entry.description.lower():
        return 2
    return -1
