"""``observe`` on a listener with ``rbac``: the observing session's access decision applies to
the source and the target (``FORBIDDEN``), before the checks against the registered source."""

from __future__ import annotations

from typing import Any

import pytest

from tests.access.support import guarded_engine, trusted_worker
from tests.observe.conftest import FEATURES, observe
from tests.raw_client import open_raw

RBAC = {
    "rbac": {
        "auth_function_id": "auth::check",
        "expose_functions": ['match("pub::*")'],
    }
}
EXPOSE = "not allowed (add to rbac.expose_functions)"


def auth(payload: dict[str, Any]) -> Any:
    return {"forbidden_functions": ["pub::secret"]}


FUNCTIONS = {
    "auth::check": auth,
    "pub::orders": lambda p: p,
    "pub::audit": lambda p: p,
    "pub::secret": lambda p: p,
    "priv::ledger": lambda p: p,
}


@pytest.mark.parametrize(
    ("source", "target", "state", "message"),
    [
        ("pub::orders", "pub::audit", "active", None),
        (
            "priv::ledger",
            "pub::audit",
            "error",
            f"source priv::ledger: function 'priv::ledger' {EXPOSE}",
        ),
        (
            "pub::orders",
            "priv::ledger",
            "error",
            f"target priv::ledger: function 'priv::ledger' {EXPOSE}",
        ),
        (
            "pub::secret",
            "pub::audit",
            "error",
            "source pub::secret: function 'pub::secret' not allowed "
            "(remove from rbac.forbidden_functions)",
        ),
        # Not registered yet: decided by id alone, so a guest cannot wait for a hidden function.
        (
            "priv::later",
            "pub::audit",
            "error",
            f"source priv::later: function 'priv::later' {EXPOSE}",
        ),
        ("pub::later", "pub::audit", "pending", None),
    ],
)
async def test_observe_decided_by_the_observing_session(
    source: str, target: str, state: str, message: str | None
) -> None:
    async with guarded_engine(RBAC) as engine, trusted_worker(engine, FUNCTIONS):
        guest = await open_raw(engine.worker_urls[1])
        try:
            outcome = await guest.register_worker("guest", features=FEATURES)
            assert outcome.get("result") == {"success": True}, outcome
            result = await observe(guest, "obs-1", source, target)
        finally:
            await guest.close()
    assert result["state"] == state, result
    if message is None:
        assert "error" not in result or result["error"] is None
    else:
        assert result["error"] == {"code": "FORBIDDEN", "message": f"cannot observe with {message}"}


async def test_observe_on_a_listener_without_access_control_is_not_checked() -> None:
    async with guarded_engine(RBAC) as engine, trusted_worker(engine, FUNCTIONS):
        trusted = await open_raw(engine.worker_urls[0])
        try:
            await trusted.register_worker("ops", features=FEATURES)
            result = await observe(trusted, "obs-2", "priv::ledger", "pub::audit")
        finally:
            await trusted.close()
    assert result["state"] == "active", result
