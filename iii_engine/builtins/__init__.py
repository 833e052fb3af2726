"""The engine's own functions: ``engine::*`` (introspection, discovery, logs) and the host
that runs in-process built-in workers.

It may import :mod:`iii_engine.core`, :mod:`iii_engine.server` and ``iii_sdk``.
"""
