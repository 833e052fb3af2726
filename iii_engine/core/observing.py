"""The core's two seams for protocol 0.25 observers (``observe.v1``, :mod:`iii_engine.observe`).

The core never imports the observe package: the engine hands the router an
:class:`ObserveRoute` and the worker table a :class:`WorkerObserver`. With neither (or with no
observers), calls stay on the byte-forwarding path; the router's only test is
``entry.observers is not None`` (plus the frame's ``activation``).

Also here: the feature strings the engine advertises in ``workerregistered`` and the ones it
accepts from ``engine::workers::register``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

from iii_sdk.observe_protocol import (
    FEATURE_LARGE_MESSAGES,
    FEATURE_LOCAL_DISPATCH,
    FEATURE_OBSERVE,
)

if TYPE_CHECKING:
    from iii_engine.core.peer import Peer
    from iii_engine.core.registry import FunctionEntry
    from iii_sdk.protocol import InvokeFunction

__all__ = [
    "ENGINE_FEATURES",
    "KNOWN_FEATURES",
    "ObserveRoute",
    "WorkerObserver",
    "declared_features",
]

ENGINE_FEATURES = [FEATURE_OBSERVE, FEATURE_LOCAL_DISPATCH]
"""Advertised in every ``workerregistered`` (``large-messages.v1`` is a worker-only feature)."""
KNOWN_FEATURES = frozenset((FEATURE_OBSERVE, FEATURE_LOCAL_DISPATCH, FEATURE_LARGE_MESSAGES))


def declared_features(payload: dict[str, Any]) -> frozenset[str]:
    """The known feature strings of an ``engine::workers::register`` payload (others ignored)."""
    value = payload.get("features")
    if not isinstance(value, list):
        return frozenset()
    return frozenset(f for f in value if isinstance(f, str) and f in KNOWN_FEATURES)


class ObserveRoute(Protocol):
    """What the router asks of the observe machinery (``Router.observe``)."""

    async def route(
        self, conn: Peer, msg: InvokeFunction, entry: FunctionEntry, reply_id: str | None
    ) -> None:
        """A worker's call to an observed function, or an activation's reply path."""
        ...

    def watched(self, entry: FunctionEntry) -> bool:
        """Whether an engine-made call of ``entry`` needs observing."""
        ...

    async def invoke(
        self,
        entry: FunctionEntry,
        payload: Any,
        metadata: Any,
        timeout_ms: float | None,
        *,
        void: bool = False,
    ) -> Any:
        """An engine-made call (triggers, HTTP, ``Engine.invoke``) of an observed function."""
        ...


class WorkerObserver(Protocol):
    """What the worker table tells the observe machinery (``WorkerTable(observe=...)``)."""

    def on_worker_registered(self, conn: Peer, function_ids: Collection[str]) -> None:
        """``engine::workers::register`` applied (features known); its functions so far."""
        ...

    def on_function_registered(self, conn: Peer, entry: FunctionEntry) -> None:
        """``conn`` registered ``entry`` (already in the registry)."""
        ...

    def on_reattach(self, conn: Peer, previous_worker_id: str, token: str | None) -> None:
        """``conn`` sent ``reattach`` (before the previous connection is evicted)."""
        ...

    def on_disconnect(self, conn: Peer) -> None:
        """``conn`` is gone; its functions were already removed."""
        ...
