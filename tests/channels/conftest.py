"""Fixtures for the channel tests (see ``channel_server.py``)."""

from tests.channels.channel_server import channel_server, wait_until

__all__ = ["channel_server", "wait_until"]
