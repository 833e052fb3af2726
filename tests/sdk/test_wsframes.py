"""Client text frames made by the SDK (iii_sdk._wsframes): what a WebSocket server reads back."""

from __future__ import annotations

import asyncio
import os
import struct

import pytest

from iii_sdk import Worker
from iii_sdk._corked import CorkedTransport
from iii_sdk._wsframes import KEY_BATCH, mask_python, masked_text_frame, websocket_mask
from tests.sdk.rawserver import raw_server

# Each side of the three length encodings of RFC 6455 section 5.2 (7 bits, 16 bits, 64 bits).
SIZES = [0, 1, 3, 4, 5, 125, 126, 127, 65535, 65536, 200_000]


@pytest.mark.parametrize("size", SIZES)
def test_the_python_mask_is_the_compiled_one(size: int) -> None:
    key = os.urandom(4)
    data = os.urandom(size)
    compiled, python = bytearray(data), bytearray(data)
    websocket_mask(key, compiled)
    mask_python(key, python)
    assert python == compiled
    mask_python(key, python)  # masking twice restores the payload
    assert python == data


@pytest.mark.parametrize("size", SIZES)
def test_a_frame_carries_its_length_key_and_masked_payload(size: int) -> None:
    payload = os.urandom(size)
    key = b"\x01\x02\x03\x04"
    frame = masked_text_frame(payload, key)
    assert frame[0] == 0x81  # final text frame
    assert frame[1] & 0x80  # masked, as every client frame must be
    length = frame[1] & 0x7F
    offset = 2
    if length == 126:
        (length,) = struct.unpack("!H", frame[2:4])
        offset = 4
    elif length == 127:
        (length,) = struct.unpack("!Q", frame[2:10])
        offset = 10
    assert length == size
    assert frame[offset : offset + 4] == key
    body = bytearray(frame[offset + 4 :])
    websocket_mask(key, body)
    assert body == payload


async def test_frames_of_every_length_encoding_reach_a_server_whole() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="frames")
        await worker.connect()
        conn = await server.accept()
        await conn.next()  # engine::workers::register
        for size in SIZES:
            worker.trigger_void("svc::sink", {"pad": "x" * size})
        frames = await conn.take(len(SIZES))
        assert [len(f["data"]["pad"]) for f in frames] == SIZES
        await worker.close()


async def test_every_frame_gets_a_fresh_key_across_batches() -> None:
    loop = asyncio.get_running_loop()
    received = bytearray()
    frames = KEY_BATCH * 2 + 3  # past one batch of keys from the OS
    expected = frames * 7  # 2 header bytes, 4 key bytes, 1 payload byte
    done = loop.create_future()

    class Sink(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            received.extend(data)
            if len(received) >= expected and not done.done():
                done.set_result(None)

    server = await loop.create_server(Sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    cork = CorkedTransport(transport)
    for _ in range(frames):
        cork.write_text(b"x")
    cork.flush()
    await asyncio.wait_for(done, 5)
    keys = [bytes(received[i + 2 : i + 6]) for i in range(0, expected, 7)]
    assert len(keys) == frames
    assert len(set(keys)) > frames - 3  # 32-bit random keys: a repeat is all but impossible
    transport.close()
    server.close()
    await server.wait_closed()
