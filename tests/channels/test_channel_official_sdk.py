"""The official Python SDK's channel reader/writer (``iii-sdk``, over ``websockets``) against
our ChannelManager listener."""

from __future__ import annotations

import pytest

from tests.channels.channel_server import ChannelServer

iii_channels = pytest.importorskip("iii.channels")
iii_types = pytest.importorskip("iii.iii_types")

pytestmark = pytest.mark.compat


def _ref(server: ChannelServer, buffer_size: int = 64) -> tuple[object, object]:
    refs = server.manager.create_result({"buffer_size": buffer_size})
    return (
        iii_types.StreamChannelRef(**refs["writer"]),
        iii_types.StreamChannelRef(**refs["reader"]),
    )


async def test_official_writer_to_official_reader(channel_server: ChannelServer) -> None:
    writer_ref, reader_ref = _ref(channel_server, buffer_size=8)
    writer = iii_channels.ChannelWriter(channel_server.base_url, writer_ref)
    reader = iii_channels.ChannelReader(channel_server.base_url, reader_ref)
    messages: list[str] = []
    reader.on_message(messages.append)
    body = bytes(range(256)) * 800  # 204 800 bytes: several 64 KiB frames
    await writer.send_message_async('{"type":"set_status","status_code":201}')
    await writer.write(body)
    await writer.close_async()
    assert await reader.read_all() == body
    assert messages == ['{"type":"set_status","status_code":201}']
    await reader.close_async()


async def test_official_writer_to_local_reader(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    local_reader = await channel.reader()
    writer_ref = iii_types.StreamChannelRef(
        channel_id=channel.writer_ref.channel_id,
        access_key=channel.writer_ref.access_key,
        direction="write",
    )
    writer = iii_channels.ChannelWriter(channel_server.base_url, writer_ref)
    await writer.write(b"streamed by the official SDK")
    await writer.close_async()
    assert await local_reader.read_all() == b"streamed by the official SDK"


async def test_local_writer_to_official_reader(channel_server: ChannelServer) -> None:
    channel = channel_server.manager.create_local()
    reader_ref = iii_types.StreamChannelRef(
        channel_id=channel.reader_ref.channel_id,
        access_key=channel.reader_ref.access_key,
        direction="read",
    )
    writer = await channel.writer()
    await writer.write(b"x" * 200_000)
    await writer.close()
    reader = iii_channels.ChannelReader(channel_server.base_url, reader_ref)
    assert await reader.read_all() == b"x" * 200_000
    await reader.close_async()
