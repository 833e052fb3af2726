"""Trigger types provided by the official Python SDK, bindings registered by ours (and back)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from iii import InvocationError as OfficialInvocationError
from iii.triggers import TriggerConfig, TriggerHandler

from iii_engine.engine import Engine
from iii_sdk.plugin import Trigger, TriggerType
from tests.compat.support import (
    WAIT,
    Inbox,
    OfficialFactory,
    close_official,
    eventually,
    official_call,
    wait_for_functions,
)

pytestmark = pytest.mark.compat

WEBHOOK = {"id": "offpy-webhook", "description": "webhook events, provided by the official SDK"}


class WebhookProvider(TriggerHandler[Any]):  # type: ignore[misc]
    """An official-SDK trigger provider that records bindings and fires them on demand."""

    def __init__(self, client: Any, inbox: Inbox, reject: str | None = None) -> None:
        self.client = client
        self.inbox = inbox
        self.reject = reject
        self.bindings: dict[str, TriggerConfig[Any]] = {}

    async def register_trigger(self, config: TriggerConfig[Any]) -> None:
        if self.reject is not None:
            raise ValueError(self.reject)
        self.bindings[config.id] = config
        self.inbox.put(("register", config))

    async def unregister_trigger(self, config: TriggerConfig[Any]) -> None:
        self.bindings.pop(config.id, None)
        self.inbox.put(("unregister", config))

    async def fire(self, event: Any) -> Any:
        """Fire every binding whose ``config.path`` equals the event's path."""
        fired = 0
        for binding in list(self.bindings.values()):
            if binding.config.get("path") == event["path"]:
                request = {
                    "function_id": binding.function_id,
                    "payload": {"body": event["body"]},
                    "metadata": binding.metadata,
                }
                await self.client.trigger_async(request)
                fired += 1
        return {"fired": fired}


async def start_provider(
    engine: Engine, official: OfficialFactory, name: str, reject: str | None = None
) -> tuple[Any, WebhookProvider, Inbox]:
    inbox = Inbox()
    client = await official(engine, name)
    provider = WebhookProvider(client, inbox, reject)
    client.register_trigger_type(WEBHOOK, provider)
    client.register_function("offpy-webhook::fire", provider.fire)
    await wait_for_functions(engine, "offpy-webhook::fire")
    return client, provider, inbox


async def test_official_provider_receives_our_binding_and_fires_it(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    _client, _provider, inbox = await start_provider(iii_engine, official, "official-webhooks")
    ours = await iii_worker(iii_engine, name="ours")
    calls = Inbox()

    def on_hook(payload: Any, metadata: Any) -> None:
        calls.put((payload, metadata))

    ours.register_function("ours::on_hook", on_hook)
    handle = ours.register_trigger(
        "offpy-webhook", "ours::on_hook", {"path": "/orders"}, metadata={"team": "billing"}
    )

    kind, binding = await inbox.get()
    assert kind == "register"
    assert binding.id == handle.id
    assert binding.function_id == "ours::on_hook"
    assert binding.config == {"path": "/orders"}
    assert binding.metadata == {"team": "billing"}

    fire = {"path": "/orders", "body": {"order": 17}}
    assert await ours.trigger("offpy-webhook::fire", fire) == {"fired": 1}
    payload, metadata = await calls.get()
    assert payload["body"] == {"order": 17}
    assert metadata == {"team": "billing"}

    handle.unregister()
    kind, removed = await inbox.get()
    assert (kind, removed.id) == ("unregister", handle.id)
    assert await ours.trigger("offpy-webhook::fire", fire) == {"fired": 0}


async def test_binding_registered_before_the_official_provider_is_delivered_later(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::early", lambda payload: None)
    handle = ours.register_trigger("offpy-webhook", "ours::early", {"path": "/early"})
    await wait_for_functions(iii_engine, "ours::early")

    _client, _provider, inbox = await start_provider(iii_engine, official, "official-late")
    kind, binding = await inbox.get()
    assert (kind, binding.id, binding.config) == ("register", handle.id, {"path": "/early"})


async def test_official_provider_rejection_reaches_our_registrant(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    await start_provider(iii_engine, official, "official-picky", reject="path must start with /api")
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::never", lambda payload: None)
    handle = ours.register_trigger("offpy-webhook", "ours::never", {"path": "/x"})

    error = await asyncio.wait_for(handle.rejected(), WAIT)
    assert error.code == "trigger_registration_failed"
    assert "path must start with /api" in error.message


async def test_binding_is_redelivered_when_the_official_provider_comes_back(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    first, _provider, inbox = await start_provider(iii_engine, official, "official-flaky")
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::kept", lambda payload: None)
    handle = ours.register_trigger("offpy-webhook", "ours::kept", {"path": "/kept"})
    kind, binding = await inbox.get()
    assert (kind, binding.id) == ("register", handle.id)

    await close_official(first)
    _second, _provider2, inbox2 = await start_provider(iii_engine, official, "official-flaky-2")
    kind, binding = await inbox2.get()
    assert (kind, binding.id, binding.config) == ("register", handle.id, {"path": "/kept"})


async def test_trigger_type_and_binding_are_listed(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client, _provider, inbox = await start_provider(iii_engine, official, "official-listed")
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::listed", lambda payload: None)
    handle = ours.register_trigger("offpy-webhook", "ours::listed", {"path": "/l"})
    await inbox.get()

    types = await official_call(client, "engine::triggers::list", {})
    row = next(t for t in types["triggers"] if t["id"] == "offpy-webhook")
    assert row["worker_name"] == "official-listed"
    assert row["description"] == WEBHOOK["description"]

    bindings = await official_call(client, "engine::registered-triggers::list", {})
    row = next(b for b in bindings["registered_triggers"] if b["id"] == handle.id)
    assert (row["trigger_type"], row["function_id"]) == ("offpy-webhook", "ours::listed")
    assert row["config"] == {"path": "/l"}


class OurProvider(TriggerType):
    """A trigger type provided by our SDK, for bindings registered by the official SDK."""

    id = "ours-ticker"
    description = "ticks on demand, provided by our SDK"

    def __init__(self) -> None:
        self.inbox = Inbox()

    async def register_trigger(self, trigger: Trigger) -> None:
        self.inbox.put(("register", trigger))

    async def unregister_trigger(self, trigger: Trigger) -> None:
        self.inbox.put(("unregister", trigger))


async def test_our_provider_receives_an_official_binding(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    provider = OurProvider()
    ours = await iii_worker(iii_engine, name="ours-provider")
    ours.register_trigger_type(provider)
    client = await official(iii_engine, "official-registrant")
    calls = Inbox()

    def on_tick(data: Any, metadata: Any = None) -> None:
        calls.put((data, metadata))

    client.register_function("offpy::on_tick", on_tick)
    official_trigger = client.register_trigger(
        {"type": "ours-ticker", "function_id": "offpy::on_tick", "config": {"every": 3}}
    )

    kind, binding = await provider.inbox.get()
    assert kind == "register"
    assert (binding.function_id, binding.config) == ("offpy::on_tick", {"every": 3})

    await wait_for_functions(iii_engine, "offpy::on_tick")
    await ours.trigger(binding.function_id, {"tick": 1}, metadata={"from": "ours"})
    data, metadata = await calls.get()
    assert data["tick"] == 1
    assert metadata == {"from": "ours"}

    official_trigger.unregister()
    kind, removed = await provider.inbox.get()
    assert (kind, removed.id) == ("unregister", binding.id)


async def test_official_trigger_without_config_is_accepted(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    """The official SDK omits ``config`` when it is None; upstream drops such frames, we don't."""
    provider = OurProvider()
    ours = await iii_worker(iii_engine, name="ours-provider")
    ours.register_trigger_type(provider)
    client = await official(iii_engine, "official-no-config")
    client.register_function("offpy::bare", lambda data: None)
    client.register_trigger({"type": "ours-ticker", "function_id": "offpy::bare"})

    kind, binding = await provider.inbox.get()
    assert (kind, binding.function_id, binding.config) == ("register", "offpy::bare", None)


async def test_official_provider_disconnect_removes_its_trigger_type(
    iii_engine: Engine, official: OfficialFactory
) -> None:
    client, _provider, _inbox = await start_provider(iii_engine, official, "official-gone")

    async def listed() -> bool:
        types = await iii_engine.invoke("engine::triggers::list", {})
        return any(t["id"] == "offpy-webhook" for t in types["triggers"])

    assert await listed()
    await close_official(client)

    async def unlisted() -> bool:
        return not await listed()

    await eventually(unlisted, "the trigger type to disappear")


async def test_official_unregister_trigger_type_keeps_the_connection_and_parks_bindings(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    """The SDKs send ``unregistertriggertype`` (upstream drops it); the socket must survive."""
    client, provider, inbox = await start_provider(iii_engine, official, "official-withdraws")
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::parked", lambda payload: None)
    handle = ours.register_trigger("offpy-webhook", "ours::parked", {"path": "/p"})
    assert (await inbox.get())[0] == "register"

    client.unregister_trigger_type(WEBHOOK)
    assert await official_call(client, "offpy-webhook::fire", {"path": "/p", "body": 1}) == {
        "fired": 1
    }

    client.register_trigger_type(WEBHOOK, provider)
    kind, binding = await inbox.get_until(lambda item: item[0] == "register")
    assert (kind, binding.id) == ("register", handle.id)


class PickyProvider(OurProvider):
    """Our provider that rejects bindings whose config says so."""

    id = "ours-picky"

    async def register_trigger(self, trigger: Trigger) -> None:
        if trigger.config.get("reject"):
            raise ValueError("picky provider says no")
        await super().register_trigger(trigger)


async def test_official_sdk_uses_engine_register_trigger_for_durable_bindings(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    provider = PickyProvider()
    ours = await iii_worker(iii_engine, name="ours-provider")
    ours.register_trigger_type(provider)
    client = await official(iii_engine, "official-durable")
    request = {"trigger_type": "ours-picky", "function_id": "offpy::durable", "config": {"x": 1}}

    created = await official_call(client, "engine::register_trigger", request)
    kind, binding = await provider.inbox.get()
    assert (kind, binding.id, binding.config) == ("register", created["id"], {"x": 1})

    # Ownerless: the binding outlives the official worker that made it.
    await close_official(client)
    rows = await iii_engine.invoke(
        "engine::registered-triggers::list", {"trigger_type": "ours-picky"}
    )
    assert [r["id"] for r in rows["registered_triggers"]] == [created["id"]]

    other = await official(iii_engine, "official-durable-2")
    with pytest.raises(OfficialInvocationError) as caught:
        await official_call(
            other, "engine::register_trigger", {**request, "config": {"reject": True}}
        )
    assert caught.value.code == "trigger_registration_failed"
    assert "picky provider says no" in caught.value.message

    removed = await official_call(other, "engine::unregister_trigger", {"id": created["id"]})
    assert removed == {"removed": True}
    kind, gone = await provider.inbox.get()
    assert (kind, gone.id) == ("unregister", created["id"])
