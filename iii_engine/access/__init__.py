"""Who may do what: authentication, access decisions, middleware, registration hooks,
connection limits and functions the engine calls over HTTP (protocol.md section 8).

Owns the ``rbac`` block of a worker-manager listener (parsed and validated with key paths),
the per-connection :class:`~iii_engine.access.session.Session` built from the auth function's
result, the slow path of the invoke check (denials, middleware), the registration hooks and
function prefixes, the inbound limits of a listener, and the engine side of HTTP-invoked
functions (the plugin ``iii-http-functions`` does the HTTP). It may import
:mod:`iii_engine.core`, :mod:`iii_engine.config`, ``iii_sdk``, msgspec and aiohttp, never the
server nor the engine: ``engine.py`` hands it narrow collaborators (the router, ``spawn``, the
registries, the frame dispatcher's ``apply``). The core sees a session only as
:class:`iii_engine.core.peer.AccessSession` on a peer; the server builds a connection with it.
"""
