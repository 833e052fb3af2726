"""``iii-http-functions`` (alias ``http-functions``): functions the engine calls over HTTP.

A worker registers a function with an ``invocation`` block (URL, method, headers, auth); the
engine owns it and calls the URL for every invocation, with the ``x-iii-*`` headers, HMAC,
bearer or API-key auth taken from engine-side environment variables, a timeout, and the
response mapped to a result or an error (the spec's workers.md section 9). The security policy
(``url_allowlist``, ``block_private_ips``, ``require_https``) is checked at registration and
again on the address each connection resolves to, so DNS cannot point a function at a private
or loopback address; redirects are never followed. Every call shares one aiohttp session with a
connection limit.
"""
