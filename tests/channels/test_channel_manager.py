"""ChannelManager over real loopback WebSockets (and its in-process ends)."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from iii_engine.channels.manager import ChannelManager
from iii_sdk.errors import InvocationError
from tests.channels.channel_server import ChannelServer, WaitUntil, serve


async def test_mixed_frames_keep_type_and_order(channel_server: ChannelServer) -> None:
    writer_ref, reader_ref = channel_server.manager.create()
    writer = await channel_server.open(writer_ref)
    reader = await channel_server.open(reader_ref)
    sent: list[bytes | str] = [b"\x00\x01", "hello", b"", "{}", b"x" * 70_000, "bye"]
    for frame in sent:
        if isinstance(frame, bytes):
            await writer.send_bytes(frame)
        else:
            await writer.send_str(frame)
    await writer.close()
    received: list[bytes | str] = []
    async for msg in reader:
        assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
        received.append(msg.data)
    assert received == sent
    assert reader.closed
    await channel_server.manager.stop()
    assert len(channel_server.manager) == 0


async def test_writer_first_then_reader_gets_rest_then_close(channel_server: ChannelServer) -> None:
    writer_ref, reader_ref = channel_server.manager.create()
    writer = await channel_server.open(writer_ref)
    await writer.send_bytes(b"early")
    await writer.close()
    reader = await channel_server.open(reader_ref)
    first = await reader.receive()
    assert (first.type, first.data) == (aiohttp.WSMsgType.BINARY, b"early")
    end = await reader.receive()
    assert end.type is aiohttp.WSMsgType.CLOSE
    # Both sides done: the channel is gone.
    assert writer_ref.channel_id not in channel_server.manager


async def test_second_opener_is_closed_immediately(channel_server: ChannelServer) -> None:
    writer_ref, reader_ref = channel_server.manager.create()
    first = await channel_server.open(reader_ref)
    second = await channel_server.open(reader_ref)
    msg = await second.receive()
    assert msg.type is aiohttp.WSMsgType.CLOSE
    # The first opener still works.
    writer = await channel_server.open(writer_ref)
    await writer.send_str("still here")
    got = await first.receive()
    assert got.data == "still here"
    await writer.close()
    assert (await first.receive()).type is aiohttp.WSMsgType.CLOSE


@pytest.mark.parametrize("case", ["wrong_key", "unknown_channel", "bad_dir"])
async def test_rejected_before_upgrade(channel_server: ChannelServer, case: str) -> None:
    writer_ref, _ = channel_server.manager.create()
    if case == "wrong_key":
        url = channel_server.url(writer_ref, key="not-the-key")
    elif case == "unknown_channel":
        url = channel_server.url(writer_ref).replace(writer_ref.channel_id, "nope")
    else:
        url = channel_server.url(writer_ref, direction="sideways")
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await channel_server.session.ws_connect(url)
    assert info.value.status == (400 if case == "bad_dir" else 404)
    assert writer_ref.channel_id in channel_server.manager


async def test_reader_gone_drops_writer(channel_server: ChannelServer) -> None:
    writer_ref, reader_ref = channel_server.manager.create()
    writer = await channel_server.open(writer_ref)
    reader = await channel_server.open(reader_ref)
    await writer.send_bytes(b"one")
    assert (await reader.receive()).data == b"one"
    await reader.close()
    msg = await writer.receive()
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert writer_ref.channel_id not in channel_server.manager


async def test_reader_gone_unblocks_a_full_writer(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local(buffer_size=1)
    writer = await channel.writer()
    reader = await channel.reader()
    await writer.write(b"fills the buffer")
    blocked = asyncio.create_task(writer.write(b"waits for room"))
    await reader.close()
    with pytest.raises(ConnectionResetError):
        await blocked


async def test_backpressure_keeps_at_most_buffer_size_frames(
    channel_server: ChannelServer, wait_until: WaitUntil
) -> None:
    manager = channel_server.manager
    writer_ref, reader_ref = manager.create(buffer_size=4)
    writer = await channel_server.open(writer_ref)
    total = 300
    for i in range(total):
        await writer.send_bytes(i.to_bytes(2, "big") * 512)
    await wait_until(lambda: manager.buffered(writer_ref.channel_id) == 4)
    reader = await channel_server.open(reader_ref)
    received: list[int] = []
    while len(received) < total:
        assert manager.buffered(writer_ref.channel_id) <= 4
        msg = await reader.receive()
        assert msg.type is aiohttp.WSMsgType.BINARY
        received.append(int.from_bytes(msg.data[:2], "big"))
    assert received == list(range(total))
    await writer.close()
    assert (await reader.receive()).type is aiohttp.WSMsgType.CLOSE


async def test_local_writer_waits_for_room(channel_server: ChannelServer) -> None:
    manager = channel_server.manager
    writer_ref, reader_ref = manager.create(buffer_size=2)
    writer = await manager.local(writer_ref.channel_id).writer()
    await writer.send_text("a")
    await writer.send_text("b")
    third = asyncio.create_task(writer.send_text("c"))
    done, _ = await asyncio.wait({third}, timeout=0.05)
    assert not done, "a full channel must hold the writer back"
    assert manager.buffered(writer_ref.channel_id) == 2
    reader = await channel_server.open(reader_ref)
    assert (await reader.receive()).data == "a"
    await third
    await writer.close()
    assert [m.data async for m in reader] == ["b", "c"]


async def test_local_writer_to_socket_reader(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    writer = await channel.writer()
    body = bytes(range(256)) * 1000  # 256 000 bytes -> 4 frames of <= 64 KiB
    reader = await channel_server.open(channel.reader_ref)
    await writer.send_message({"type": "set_status", "status_code": 201})
    await writer.write(body)
    await writer.close()
    frames = [msg.data async for msg in reader]
    assert frames[0] == '{"type":"set_status","status_code":201}'
    assert all(len(f) <= 64 * 1024 for f in frames[1:])
    assert b"".join(frames[1:]) == body


async def test_socket_writer_to_local_reader(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    reader = await channel.reader()
    writer = await channel_server.open(channel.writer_ref)
    await writer.send_str("control")
    await writer.send_bytes(b"abc")
    await writer.send_bytes(b"def")
    await writer.close()
    assert await reader.read() == "control"
    assert await reader.read_all() == b"abcdef"
    assert await reader.read() is None


async def test_local_side_claims_like_a_socket(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    local_reader = await channel.reader()
    with pytest.raises(RuntimeError):
        await channel.reader()
    remote = await channel_server.open(channel.reader_ref)
    assert (await remote.receive()).type is aiohttp.WSMsgType.CLOSE
    await local_reader.close()
    assert channel.channel_id not in channel_server.manager


async def test_sweep_removes_only_unclaimed_channels(wait_until: WaitUntil) -> None:
    manager = ChannelManager(ttl=0.05, sweep_interval=0.02)
    runner, url = await serve(manager)
    try:
        async with aiohttp.ClientSession() as session:
            unclaimed, _ = manager.create()
            half_w, half_r = manager.create()
            both_w, both_r = manager.create()
            base = f"{url}/ws/channels"
            half = await session.ws_connect(
                f"{base}/{half_w.channel_id}?key={half_w.access_key}&dir=write"
            )
            w = await session.ws_connect(
                f"{base}/{both_w.channel_id}?key={both_w.access_key}&dir=write"
            )
            r = await session.ws_connect(
                f"{base}/{both_r.channel_id}?key={both_r.access_key}&dir=read"
            )
            # A frame through proves both sides are claimed before the sweeper starts.
            await w.send_str("claimed")
            assert (await r.receive()).data == "claimed"
            manager.start()
            await wait_until(
                lambda: unclaimed.channel_id not in manager and half_w.channel_id not in manager
            )
            assert both_w.channel_id in manager
            # The half-open channel's socket was closed by the sweep.
            assert (await half.receive()).type is aiohttp.WSMsgType.CLOSE
            await w.send_str("alive")
            assert (await r.receive()).data == "alive"
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(
                    f"{base}/{half_r.channel_id}?key={half_r.access_key}&dir=read"
                )
            await w.close()
            await r.close()
    finally:
        await manager.stop()
        await runner.cleanup()


async def test_drop_owner_removes_only_its_channels(channel_server: ChannelServer) -> None:
    manager = channel_server.manager
    mine, _ = manager.create(owner="conn-1")
    other, _ = manager.create(owner="conn-2")
    ownerless, _ = manager.create()
    writer = await channel_server.open(mine)
    manager.drop_owner("conn-1")
    assert mine.channel_id not in manager
    assert other.channel_id in manager and ownerless.channel_id in manager
    assert (await writer.receive()).type is aiohttp.WSMsgType.CLOSE


async def test_create_result_shape_and_clamping(channel_server: ChannelServer) -> None:
    manager = channel_server.manager
    out = manager.create_result({"buffer_size": 5000, "_caller_worker_id": "w"})
    assert out["writer"]["direction"] == "write" and out["reader"]["direction"] == "read"
    assert out["writer"]["channel_id"] == out["reader"]["channel_id"]
    assert out["writer"]["access_key"] == out["reader"]["access_key"]
    assert set(out["writer"]) == {"channel_id", "access_key", "direction"}
    for value in (out["writer"]["channel_id"], out["writer"]["access_key"]):
        parsed = uuid.UUID(value)
        assert (str(parsed), parsed.version, parsed.variant) == (value, 4, uuid.RFC_4122)
    assert out["writer"]["channel_id"] != out["writer"]["access_key"]
    # Clamped to 1024: the 1025th frame has to wait.
    writer = await manager.local(out["writer"]["channel_id"]).writer()
    for _ in range(1024):
        await writer.send_text(".")
    assert manager.buffered(out["writer"]["channel_id"]) == 1024
    small = manager.create_result(None)
    assert small["reader"]["channel_id"] in manager
    with pytest.raises(InvocationError) as info:
        manager.create_result({"buffer_size": "big"})
    assert info.value.code == "deserialization_error"


def test_ids_are_distinct_canonical_uuid4_across_batches() -> None:
    """Ids are drawn 64 at a time: 300 channels span several batches."""
    manager = ChannelManager()
    ids: list[str] = []
    for _ in range(300):
        writer_ref, _ = manager.create()
        ids += [writer_ref.channel_id, writer_ref.access_key]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert (str(parsed), parsed.version, parsed.variant) == (value, 4, uuid.RFC_4122)


async def test_discard_ends_local_reader_and_fails_writer(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    reader = await channel.reader()
    writer = await channel.writer()
    pending = asyncio.create_task(reader.read())
    channel.discard()
    assert await pending is None
    with pytest.raises(ConnectionResetError):
        await writer.write(b"late")


async def test_deleted_channel_ends_the_reader_abnormally(channel_server: ChannelServer) -> None:
    finished, deleted = channel_server.manager.create_local(), channel_server.manager.create_local()
    for channel in (finished, deleted):
        writer = await channel.writer()
        await writer.send_text("first")
        reader = await channel_server.open(channel.reader_ref)
        assert (await reader.receive()).data == "first"
        if channel is finished:
            await writer.close()
        else:
            channel.discard()
        end = await reader.receive()
        assert end.type is aiohttp.WSMsgType.CLOSE
        expected = aiohttp.WSCloseCode.OK if channel is finished else aiohttp.WSCloseCode.GOING_AWAY
        assert end.data == expected
