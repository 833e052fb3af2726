"""The ``iii-http`` built-in worker: HTTP routes that fire ``http`` triggers."""
