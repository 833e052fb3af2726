"""What a listener does about access when a socket opens: authenticate and build the session.

Only listeners with ``rbac`` or ``middleware_function_id`` get a :class:`ListenerAccess`; the
others skip every check (their connections carry no session).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import web

from iii_engine.access.auth import AUTH_ERROR, AuthFailed, AuthResult, auth_input, authenticate
from iii_engine.access.rbac_config import DEFAULT_NAMESPACE, RbacConfig, parse_rbac
from iii_engine.access.session import Session
from iii_sdk.errors import ConfigError
from iii_sdk.protocol import ErrorBody, ErrorFrame, encode

if TYPE_CHECKING:
    from iii_engine.access.namespaces import Namespaces
    from iii_engine.config.schema import EngineConfig, WorkerManagerConfig
    from iii_engine.core.peer import Peer
    from iii_engine.core.router import Router

__all__ = ["AUTH_CLOSE_CODE", "ListenerAccess", "check_managers", "listener_access", "manager_path"]

log = logging.getLogger("iii.access")

AUTH_CLOSE_CODE = 1008
"""Policy violation: not 1000/1001, so the official SDKs go back to reconnecting."""


class ListenerAccess:
    """The access policy of one listener.

    ``router`` runs the auth function (and, through the sessions, middleware and hooks);
    ``namespaces`` holds the registrations of rbac sessions until their namespace is known.
    """

    def __init__(
        self,
        router: Router,
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        namespaces: Namespaces,
        rbac: RbacConfig | None,
        middleware_function_id: str | None,
        auth_timeout_ms: float | None,
    ) -> None:
        self.router = router
        self.spawn = spawn
        self.namespaces = namespaces
        self.rbac = rbac
        self.middleware_function_id = middleware_function_id
        self.auth_timeout_ms = auth_timeout_ms

    @property
    def auth_function_id(self) -> str | None:
        """The auth function, when the listener authenticates."""
        return None if self.rbac is None else self.rbac.auth_function_id

    async def open_session(self, request: web.Request, ws: web.WebSocketResponse) -> Session | None:
        """Authenticate a just-upgraded socket; None when it was refused (and closed)."""
        function_id = self.auth_function_id
        if function_id is None:
            return self._session()
        payload = auth_input(request.raw_headers, request.rel_url.raw_query_string, request.remote)
        try:
            result = await authenticate(self._invoke, function_id, payload)
        except AuthFailed as exc:
            log.info("connection from %s refused: %s", request.remote or "?", exc.message)
            frame = ErrorFrame(error=ErrorBody(code=AUTH_ERROR, message=exc.message))
            await ws.send_str(encode(frame).decode())
            await ws.close(code=AUTH_CLOSE_CODE, message=b"authentication failed")
            return None
        return self._session(result)

    def admitted(self, conn: Peer, session: Session) -> None:
        """``conn`` was built with ``session``: rbac sessions hold registrations (2.4)."""
        if session.rbac is not None:
            self.namespaces.hold(conn, session)

    def _session(self, auth: AuthResult | None = None) -> Session:
        return Session(self.router, self.spawn, self.rbac, self.middleware_function_id, auth)

    async def _invoke(self, function_id: str, payload: Any) -> Any:
        return await self.router.invoke(
            function_id, payload, namespace=DEFAULT_NAMESPACE, timeout_ms=self.auth_timeout_ms
        )


def listener_access(
    config: WorkerManagerConfig,
    path: str,
    *,
    router: Router,
    spawn: Callable[[Coroutine[Any, Any, Any]], None],
    namespaces: Namespaces,
) -> ListenerAccess | None:
    """The listener's access policy, or None when it has neither ``rbac`` nor middleware."""
    rbac = parse_rbac(config.rbac, f"{path}.rbac")
    if rbac is None and config.middleware_function_id is None:
        return None
    return ListenerAccess(
        router,
        spawn,
        namespaces,
        rbac,
        config.middleware_function_id,
        config.handshake_timeout_ms or None,  # 0: no handshake limit, the router's default
    )


def manager_path(engine_config: EngineConfig, instance_id: str) -> str:
    """Where a worker-manager entry sits in the file (``workers[1].config``)."""
    entry = engine_config.entry(instance_id)
    return f"{entry.path}.config" if entry is not None else f"{instance_id}.config"


def check_managers(engine_config: EngineConfig, managers: dict[str, WorkerManagerConfig]) -> None:
    """Validate every listener's ``rbac`` block and limits before anything starts (errors name
    the key)."""
    for instance_id, config in managers.items():
        path = manager_path(engine_config, instance_id)
        parse_rbac(config.rbac, f"{path}.rbac")
        for key, value, least in (
            ("max_frame_bytes", config.max_frame_bytes, 1024),
            ("max_pending_invocations", config.max_pending_invocations, 1),
        ):
            if value < least:
                raise ConfigError(f"expected an int >= {least}, got {value}", f"{path}.{key}")
