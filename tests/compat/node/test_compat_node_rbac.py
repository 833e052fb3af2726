"""The official Node SDK on an RBAC listener: headers reach the auth function, denials are typed."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker

pytestmark = pytest.mark.compat

CONFIG = {
    "workers": [
        {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}},
        {
            "name": "iii-worker-manager",
            "config": {
                "host": "127.0.0.1",
                "port": 0,
                "rbac": {
                    "auth_function_id": "rbac::auth",
                    "expose_functions": ['match("public::*")'],
                },
            },
        },
    ]
}


async def test_node_sdk_authenticates_and_gets_typed_forbidden_errors(node: Any) -> None:
    async with start_engine(yaml.safe_dump(CONFIG)) as engine:
        trusted = Worker(engine.worker_urls[0], name="trusted")
        seen: list[dict[str, Any]] = []

        def auth(payload: dict[str, Any]) -> Any:
            seen.append(payload)
            if payload["headers"].get("authorization") != "Bearer node-token":
                raise ValueError("bad token")
            return {"allowed_functions": ["granted::fn"]}

        trusted.register_function("rbac::auth", auth)
        trusted.register_function("public::hello", lambda p: {"hello": p["from"]})
        trusted.register_function("granted::fn", lambda p: "granted")
        trusted.register_function("private::fn", lambda p: "private")
        async with trusted:
            await trusted.trigger("engine::log::debug", {"message": "barrier"})
            proc = await node(
                engine,
                "rbac.mjs",
                env={
                    "III_URL": engine.worker_urls[1],
                    "NODE_TOKEN": "node-token",
                    "CALLS": "public::hello,granted::fn,private::fn",
                },
                ready=False,
            )
            calls = [json.loads(await proc.expect("CALL")) for _ in range(3)]
            await proc.expect("DONE")
            # (the SDK's telemetry socket connects without the headers and is refused)
            tokens = {p["headers"].get("authorization") for p in seen}
            assert "Bearer node-token" in tokens
            assert calls[0] == {"id": "public::hello", "result": {"hello": "node"}}
            assert calls[1] == {"id": "granted::fn", "result": "granted"}
            error = calls[2]["error"]
            assert error["code"] == "FORBIDDEN"
            assert error["name"] == "InvocationError"
            assert (
                "function 'private::fn' not allowed (add to rbac.expose_functions)"
                in (error["message"])
            )
