"""The SDK's ChannelReader / ChannelWriter against a real ChannelManager listener."""

from __future__ import annotations

import copy

import msgspec
import pytest

from iii_sdk.channels import (
    ChannelError,
    ChannelReader,
    ChannelWriter,
    channel_ref,
    channel_url,
    enc_hook,
    encode_channel_refs,
    is_channel_ref,
    resolve_channel_refs,
)
from iii_sdk.protocol import StreamChannelRef
from tests.channels.channel_server import ChannelServer, WaitUntil


def _refs(server: ChannelServer, buffer_size: int = 64) -> dict[str, dict[str, str]]:
    refs = server.manager.create_result({"buffer_size": buffer_size})
    assert isinstance(refs, dict)
    return refs


def test_resolve_replaces_refs_at_any_depth() -> None:
    ref_r = {"channel_id": "c", "access_key": "k/+ =", "direction": "read"}
    ref_w = {"channel_id": "c", "access_key": "k", "direction": "write"}
    payload = {
        "body": {"nested": [ref_r, 1]},
        "response": ref_w,
        "not_a_ref": {"channel_id": "c", "access_key": 3, "direction": "read"},
        "other": {"channel_id": "c", "access_key": "k", "direction": "both"},
        "n": None,
    }
    out = resolve_channel_refs(payload, "ws://127.0.0.1:1/")
    reader, writer = out["body"]["nested"][0], out["response"]
    assert isinstance(reader, ChannelReader) and isinstance(writer, ChannelWriter)
    assert out["body"]["nested"][1] == 1 and out["n"] is None
    assert out["not_a_ref"] == payload["not_a_ref"] and out["other"] == payload["other"]
    # The key is percent-encoded and the trailing slash of the engine URL is dropped.
    assert reader.url == "ws://127.0.0.1:1/ws/channels/c?key=k%2F%2B%20%3D&dir=read"
    assert channel_ref(reader) == ref_r
    assert encode_channel_refs(out) == payload
    assert msgspec.json.decode(msgspec.json.encode(out, enc_hook=enc_hook)) == payload
    assert is_channel_ref(ref_w) and not is_channel_ref(payload["other"])


def test_resolve_copies_only_the_containers_on_the_way_to_a_ref() -> None:
    headers = {"content-type": "application/json"}
    items = [1, {"x": 2}]
    ref_w = {"channel_id": "c", "access_key": "k", "direction": "write"}
    payload = {"headers": headers, "items": items, "out": [{"response": ref_w}]}
    before = copy.deepcopy(payload)
    out = resolve_channel_refs(payload, "ws://127.0.0.1:1/")
    assert payload == before  # the input is never changed
    assert isinstance(out["out"][0]["response"], ChannelWriter)
    assert out["headers"] is headers and out["items"] is items
    assert resolve_channel_refs(items, "ws://127.0.0.1:1/") is items


def test_resolve_stops_once_it_found_as_many_refs_as_announced() -> None:
    ref_r = {"channel_id": "c1", "access_key": "k", "direction": "read"}
    ref_w = {"channel_id": "c2", "access_key": "k", "direction": "write"}
    headers = {"a": "1"}
    payload = {"headers": headers, "deep": {"ref": ref_r}, "response": ref_w}
    url = "ws://127.0.0.1:1/"
    found_one = resolve_channel_refs(payload, url, at_most=1)
    # A container's own refs come before the containers inside it.
    assert isinstance(found_one["response"], ChannelWriter)
    assert found_one["deep"] is payload["deep"] and found_one["headers"] is headers
    found_all = resolve_channel_refs(payload, url, at_most=2)
    assert isinstance(found_all["deep"]["ref"], ChannelReader)
    assert isinstance(resolve_channel_refs(payload, url)["deep"]["ref"], ChannelReader)


async def test_writer_to_reader_roundtrip(channel_server: ChannelServer) -> None:
    refs = _refs(channel_server)
    url = channel_server.base_url
    writer = resolve_channel_refs(refs["writer"], url)
    reader = resolve_channel_refs(refs["reader"], url)
    body = b"0123456789" * 20_000  # 200 000 bytes -> 4 binary frames
    async with writer:
        await writer.send_message({"type": "set_headers", "headers": {"x-a": "1"}})
        await writer.write(body)
        await writer.send_text("tail")
    first = await reader.read()
    assert first == '{"type":"set_headers","headers":{"x-a":"1"}}'
    sizes: list[int] = []
    data = b""
    async for frame in reader:
        if isinstance(frame, bytes):
            sizes.append(len(frame))
            data += frame
        else:
            assert frame == "tail"
    assert data == body and max(sizes) == 64 * 1024 and len(sizes) == 4
    assert await reader.read() is None


async def test_read_all_with_a_shared_session(channel_server: ChannelServer) -> None:
    refs = _refs(channel_server)
    session = channel_server.session
    writer = ChannelWriter(refs["writer"], channel_server.base_url, session=session)
    reader = ChannelReader(refs["reader"], channel_server.base_url, session=session)
    await writer.write(b"hello ")
    await writer.send_text("ignored by read_all")
    await writer.write(bytearray(b"world"))
    await writer.close()
    assert await reader.read_text() == "hello world"
    assert not session.closed


async def test_writer_fails_once_the_reader_is_gone(
    channel_server: ChannelServer, wait_until: WaitUntil
) -> None:
    refs = _refs(channel_server)
    writer = ChannelWriter(refs["writer"], channel_server.base_url)
    reader = ChannelReader(refs["reader"], channel_server.base_url)
    await writer.write(b"x")
    assert await reader.read() == b"x"
    assert not writer.closed
    await reader.close()
    # The engine drops the writer's socket; the writer notices it in the background.
    await wait_until(lambda: writer.closed)
    with pytest.raises(ChannelError, match="reader is gone"):
        await writer.write(b"y")
    await writer.close()


async def test_opening_an_unknown_channel_fails(channel_server: ChannelServer) -> None:
    ref = StreamChannelRef("no-such-channel", "key", "read")
    reader = ChannelReader(ref, channel_server.base_url)
    with pytest.raises(ChannelError, match="HTTP 404"):
        await reader.read()
    assert await reader.read() is None
    assert channel_url("ws://h:1", ref) == "ws://h:1/ws/channels/no-such-channel?key=key&dir=read"
    assert channel_url("ws://h:1/?token=t", ref) == channel_url("ws://h:1", ref)


async def test_sdk_writer_feeds_a_local_reader(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    local_reader = await channel.reader()
    writer = ChannelWriter(channel.writer_ref, channel_server.base_url)
    await writer.send_message({"type": "set_status", "status_code": 418})
    await writer.write(b"teapot")
    await writer.close()
    assert await local_reader.read() == '{"type":"set_status","status_code":418}'
    assert await local_reader.read_all() == b"teapot"


async def test_reader_raises_when_the_stream_is_cut_short(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    writer = await channel.writer()
    await writer.write(b"partial")
    reader = ChannelReader(channel.reader_ref, channel_server.base_url)
    assert await reader.read() == b"partial"
    channel.discard()
    with pytest.raises(ChannelError, match="ended abnormally"):
        await reader.read()
    assert await reader.read() is None


async def test_second_sdk_reader_of_one_side_fails(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    await channel.reader()
    late = ChannelReader(channel.reader_ref, channel_server.base_url)
    with pytest.raises(ChannelError, match="ended abnormally"):
        await late.read()


async def test_closing_an_unused_writer_ends_the_stream(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    local_reader = await channel.reader()
    writer = ChannelWriter(channel.writer_ref, channel_server.base_url)
    await writer.close()
    assert await local_reader.read() is None
    # Closing a writer whose channel is gone is quiet.
    await ChannelWriter(StreamChannelRef("gone", "k", "write"), channel_server.base_url).close()
