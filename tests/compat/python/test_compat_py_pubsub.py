"""iii-pubsub driven by the official Python SDK: raw delivery, broadcast, topic isolation."""

from __future__ import annotations

from typing import Any

import pytest
from iii import InvocationError as OfficialInvocationError

from iii_engine.engine import Engine
from tests.compat.support import Inbox, OfficialFactory, eventually, official_call, wait_for_binding

pytestmark = pytest.mark.compat


async def subscribe(engine: Engine, client: Any, function_id: str, topic: str) -> tuple[Any, Inbox]:
    inbox = Inbox()
    client.register_function(function_id, inbox.put)
    trigger = client.register_trigger(
        {"type": "subscribe", "function_id": function_id, "config": {"topic": topic}}
    )
    await wait_for_binding(engine, function_id)
    return trigger, inbox


async def test_publish_delivers_raw_data_to_the_subscriber(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-pubsub")
    _trigger, inbox = await subscribe(builtin_engine, client, "offpy::on_news", "news")

    message = {"message": "Hello PubSub!", "n": [1, 2]}
    assert await official_call(client, "publish", {"topic": "news", "data": message}) is None
    assert await inbox.get() == message


async def test_topics_are_isolated(builtin_engine: Engine, official: OfficialFactory) -> None:
    client = await official(builtin_engine, "official-topics")
    _a, inbox_a = await subscribe(builtin_engine, client, "offpy::on_a", "topic-a")
    _b, inbox_b = await subscribe(builtin_engine, client, "offpy::on_b", "topic-b")

    await official_call(client, "publish", {"topic": "topic-a", "data": "for-a"})
    assert await inbox_a.get() == "for-a"
    await official_call(client, "publish", {"topic": "topic-b", "data": "for-b"})
    assert await inbox_b.get() == "for-b"
    assert inbox_a.empty()
    assert inbox_b.empty()


async def test_every_subscriber_gets_every_message_and_unsubscribe_is_per_subscriber(
    builtin_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(builtin_engine, "official-fanout")
    first, inbox_1 = await subscribe(builtin_engine, client, "offpy::sub1", "fan")
    _second, inbox_2 = await subscribe(builtin_engine, client, "offpy::sub2", "fan")
    ours = await iii_worker(builtin_engine, name="ours-publisher")

    await ours.trigger("publish", {"topic": "fan", "data": {"seq": 1}})
    assert await inbox_1.get() == {"seq": 1}
    assert await inbox_2.get() == {"seq": 1}

    first.unregister()

    async def unbound() -> bool:
        listing = await builtin_engine.invoke(
            "engine::registered-triggers::list", {"function_id": "offpy::sub1"}
        )
        return not listing["registered_triggers"]

    await eventually(unbound, "the first subscription to be removed")
    await ours.trigger("publish", {"topic": "fan", "data": {"seq": 2}})
    assert await inbox_2.get() == {"seq": 2}
    assert inbox_1.empty()


async def test_publish_without_topic_is_an_error(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-no-topic")
    with pytest.raises(OfficialInvocationError) as caught:
        await official_call(client, "publish", {"topic": "", "data": 1})
    assert caught.value.code == "topic_not_set"
