"""The core: what routes an invocation, independent of how workers are connected.

Owns the function registry, the router and its invocations, enqueue, trigger types and
bindings (local and remote), trigger frames and the worker table. It may import ``iii_sdk``,
the standard library and msgspec, never aiohttp nor the other ``iii_engine`` subpackages:
connections are seen only through the few members the core uses.
"""
