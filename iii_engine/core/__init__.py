"""The core: what routes an invocation, independent of how workers are connected.

Owns the function registry, the router and its invocations, enqueue, trigger types and
bindings (local and remote), trigger frames and the worker table. A connected worker is seen
only as a :class:`iii_engine.core.peer.Peer`; each registry keeps its own maps from a peer to
what it registered.

It may import ``iii_sdk``, msgspec and the standard library; never aiohttp nor another
``iii_engine`` subpackage (enforced by the import contracts in ``pyproject.toml``).
"""
