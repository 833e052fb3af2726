"""A connection's access session (protocol.md sections 8.1-8.4).

Every connection of a listener with ``rbac`` or ``middleware_function_id`` carries a
:class:`Session`. The router's per-call check is one dictionary lookup in
:attr:`Session.allowed`, keyed by the resolved :class:`FunctionEntry`: a hit means "allowed, run
it"; a miss takes the slow path (:meth:`Session.intercept`), which decides, answers denials,
hands calls to the middleware, and caches the entries that may run directly. Re-registering a
function creates a new entry, so a changed ``metadata`` is decided afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final

import msgspec
from msgspec import UNSET

from iii_engine.access.auth import UNAUTHENTICATED, AuthResult
from iii_engine.access.patterns import Pattern
from iii_engine.access.rbac_config import DEFAULT_NAMESPACE, RbacConfig
from iii_engine.access.registration import filter_frame
from iii_engine.core.invocation import CALLER_KEY
from iii_engine.core.peer import AccessSession
from iii_sdk import errors
from iii_sdk.errors import error_body
from iii_sdk.protocol import InvocationResult, encode, from_raw, new_id, to_raw

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionEntry
    from iii_engine.core.router import Router
    from iii_sdk.protocol import AnyMessage, InvokeFunction

__all__ = ["INFRASTRUCTURE", "Session"]

log = logging.getLogger("iii.access")

INFRASTRUCTURE: Final = frozenset(
    {
        "engine::channels::create",
        "engine::workers::register",
        "engine::log::info",
        "engine::log::warn",
        "engine::log::error",
        "engine::log::debug",
        "engine::log::trace",
        "engine::baggage::get",
        "engine::baggage::set",
        "engine::baggage::get_all",
    }
)
"""Ids every session may call unless ``forbidden_functions`` names them."""

REGISTER_WORKER: Final = "engine::workers::register"
REGISTER_TRIGGER: Final = "engine::register_trigger"
CACHE_LIMIT: Final = 10_000
"""Entries cached per session before the cache is dropped and rebuilt (bounds memory)."""


class Session(AccessSession):
    """Who a connection is (its auth result) and what its listener allows it.

    ``router`` runs the middleware and the registration hooks; ``spawn(coro)`` runs a
    background task owned by the engine.
    """

    def __init__(
        self,
        router: Router,
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        rbac: RbacConfig | None,
        middleware_function_id: str | None,
        auth: AuthResult | None = None,
    ) -> None:
        result = UNAUTHENTICATED if auth is None else auth
        self.router = router
        self.spawn = spawn
        self.rbac = rbac
        self.middleware_function_id = middleware_function_id
        self.auth = result
        self.context: Any = result.context
        self.prefix: str | None = result.function_registration_prefix or None
        self.forbidden = frozenset(result.forbidden_functions)
        self.allowed_functions = frozenset(result.allowed_functions)
        self.grants: dict[str, tuple[frozenset[str], tuple[Pattern, ...]]] = {}
        for namespace, grants in result.namespaces.items():
            patterns = [Pattern(g) for g in grants]
            exact = frozenset(p.exact for p in patterns if p.exact is not None)
            globs = tuple(p for p in patterns if p.regex is not None)
            self.grants[namespace] = (exact, globs)
        self.namespaces: frozenset[str] | None = (
            frozenset(result.namespaces) if result.namespaces else None
        )
        """Namespaces this session may declare; None when unrestricted."""
        self.allowed: dict[FunctionEntry | None, bool] = {}
        """Entries this session may run directly (the router's one lookup per call)."""
        self.held: list[AnyMessage] | None = None
        """Registration frames held until the namespace is known (rbac listeners only)."""

    # --- decisions -------------------------------------------------------------------------------

    def decide(self, function_id: str, namespace: str, metadata: Any) -> str | None:
        """Protocol.md 8.3: None when allowed, else the ``FORBIDDEN`` message."""
        if function_id in self.forbidden:
            if function_id in INFRASTRUCTURE:
                log.warning("rbac: infrastructure function %s is forbidden", function_id)
            return f"function '{function_id}' not allowed (remove from rbac.forbidden_functions)"
        grants = self.grants.get(namespace)
        if grants is not None:
            exact, globs = grants
            if function_id in exact or any(p.matches(function_id) for p in globs):
                return None
        if namespace == DEFAULT_NAMESPACE and function_id in self.allowed_functions:
            return None
        if function_id in INFRASTRUCTURE or self.rbac is None:
            return None
        if self.rbac.exposes(function_id, namespace, metadata):
            return None
        return f"function '{function_id}' not allowed (add to rbac.expose_functions)"

    def visible(self, entry: FunctionEntry) -> bool:
        """Discovery visibility: the session may call ``entry``."""
        return self.decide(entry.function_id, entry.namespace, from_raw(entry.metadata)) is None

    def namespace_denial(self, declared: Any) -> str | None:
        """The message refusing ``engine::workers::register`` of ``declared``, if refused."""
        if self.namespaces is None:
            return None
        namespace = declared if isinstance(declared, str) and declared else DEFAULT_NAMESPACE
        if namespace in self.namespaces:
            return None
        permitted = ", ".join(sorted(self.namespaces))
        return f"namespace '{namespace}' not allowed for this session (permitted: {permitted})"

    async def filter_registration(self, peer: Peer, message: AnyMessage) -> AnyMessage | None:
        """Gates, hooks and prefix of a registration frame (held until the namespace is known)."""
        return await filter_frame(self, peer, message)

    # --- the router's slow path ------------------------------------------------------------------

    async def intercept(
        self,
        conn: Peer,
        msg: InvokeFunction,
        entry: FunctionEntry | None,
        namespace: str,
    ) -> bool:
        """Check a call the cache did not allow; True when it was answered here."""
        function_id = msg.function_id
        metadata = None if entry is None else from_raw(entry.metadata)
        denial = self.decide(function_id, namespace, metadata)
        if denial is None and function_id == REGISTER_WORKER and self.namespaces is not None:
            payload = from_raw(msg.data)
            declared = payload.get("namespace") if isinstance(payload, dict) else None
            denial = self.namespace_denial(declared)
            if denial is None:
                return False  # decided per call: never cached
        if denial is None and function_id == REGISTER_TRIGGER and self.prefix is not None:
            payload = from_raw(msg.data)
            target = payload.get("function_id") if isinstance(payload, dict) else None
            if isinstance(target, str):  # protocol.md 8.6: the binding targets P::<id>
                msg.data = to_raw({**payload, "function_id": f"{self.prefix}::{target}"})
            return False  # decided per call: never cached
        if denial is not None:
            log.info("rbac: worker %s denied %s: %s", conn.worker_id, function_id, denial)
            await conn.send_error(
                msg.invocation_id or new_id(), function_id, errors.FORBIDDEN, denial
            )
            return True
        exempt = (
            entry is not None
            and entry.owner is None
            and function_id.startswith("engine::")
            and "external" not in entry.extra
        )
        if self.middleware_function_id is not None and not exempt:
            self.spawn(self._through_middleware(conn, msg, namespace))
            return True
        if entry is not None:
            allowed = self.allowed
            if len(allowed) >= CACHE_LIMIT:
                allowed.clear()
            allowed[entry] = True
        return False

    async def _through_middleware(self, conn: Peer, msg: InvokeFunction, namespace: str) -> None:
        """Protocol.md 8.4: the middleware runs instead of the target and answers the caller."""
        assert self.middleware_function_id is not None
        payload = from_raw(msg.data)
        if isinstance(payload, dict) and CALLER_KEY in payload:
            payload = {k: v for k, v in payload.items() if k != CALLER_KEY}
        call: dict[str, Any] = {
            "function_id": msg.function_id,
            "payload": payload,
            "action": None if msg.action is None else msgspec.to_builtins(msg.action),
            "context": self.context,
            "namespace": namespace,
        }
        if msg.metadata is not UNSET:
            call["metadata"] = from_raw(msg.metadata)
        reply = InvocationResult(
            invocation_id=msg.invocation_id or new_id(), function_id=msg.function_id
        )
        try:
            result = await self.router.invoke(
                self.middleware_function_id, call, namespace=namespace
            )
            if result is not None:
                reply.result = to_raw(result)
        except Exception as exc:
            reply.error = error_body(exc)
        await conn.send(encode(reply))
