"""The worker WebSocket server: listener, connections, corked writes, socket options.

Owns everything between a socket and the core: accepting workers, reading and dispatching
frames, writing replies. It may import :mod:`iii_engine.core`, :mod:`iii_engine.config`,
``iii_sdk`` and aiohttp (with :mod:`iii_engine.channels` and :mod:`iii_engine.cli`, the only
importers of aiohttp).
"""
