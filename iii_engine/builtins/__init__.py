"""The engine's own functions: ``engine::*`` (introspection, discovery, logs) and the host
that runs in-process built-in workers (their :class:`~iii_sdk.plugin.WorkerContext`).

It may import :mod:`iii_engine.core` and ``iii_sdk``; collaborators it needs from elsewhere
(data channels, the list of in-process workers) are handed in as callables by the engine.
"""
