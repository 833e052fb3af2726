"""The worker WebSocket server: listener, connections, frame dispatch, corked writes.

Owns everything between a socket and the core: accepting workers, reading frames and handing
each to the one core component that owns it, writing replies. It may import
:mod:`iii_engine.core`, :mod:`iii_engine.config`, ``iii_sdk`` and aiohttp (with
:mod:`iii_engine.channels` and :mod:`iii_engine.cli`, the only importers of aiohttp).
"""
