"""The ``iii-http`` built-in worker: HTTP routes that fire ``http`` triggers.

Modules, in request order:

- :mod:`~plugins.http.config`: the worker's ``config:`` block and a trigger's config.
- :mod:`~plugins.http.trigger`: the ``http`` trigger type; each binding is a route.
- :mod:`~plugins.http.routes`: the route table (dict for static paths, trie for parameters).
- :mod:`~plugins.http.server`: the aiohttp server running the pipeline (CORS, middleware,
  condition, channels, handler, rendering), with :mod:`~plugins.http.cors`,
  :mod:`~plugins.http.middleware`, :mod:`~plugins.http.payload`,
  :mod:`~plugins.http.streaming` (bodies through data channels),
  :mod:`~plugins.http.rendering` (results and error envelopes) and
  :mod:`~plugins.http.deadlines` (request timeouts by one periodic sweep).
- :mod:`~plugins.http.worker` / :mod:`~plugins.http.plugin`: the built-in worker and its hook.
"""
