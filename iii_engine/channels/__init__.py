"""Data channels: bounded, ordered frame pipes between one writer and one reader.

Owns the channel manager (the ``/ws/channels`` endpoint and in-process ends), the pipe and
the local ends. It may import ``iii_sdk``, aiohttp and :mod:`iii_engine.server.sockets`.
"""
