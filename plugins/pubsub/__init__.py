"""``iii-pubsub``: fire-and-forget topic broadcast (function ``publish``, trigger ``subscribe``)."""
