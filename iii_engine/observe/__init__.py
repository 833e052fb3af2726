"""Protocol 0.25 observers (``observe.v1``): "every function is observable".

A worker creates an observer with ``observe``: on every matching call of a *source* function,
the engine invokes a *target* function (an *activation*) with the ``Observed`` envelope.

- :mod:`~iii_engine.observe.filters`: the filter language (validation, evaluation, normal form).
- :mod:`~iii_engine.observe.model`: an observer and the observer set of one source function.
- :mod:`~iii_engine.observe.validate`: ``observe`` frame -> observer, or the refusal code.
- :mod:`~iii_engine.observe.hub`: observer table, states, expiry, grace, reconnects.
- :mod:`~iii_engine.observe.owners`: owner announcements, acks, reports of local calls.
- :mod:`~iii_engine.observe.routed`: calls through the engine to observed functions, activations.
- :mod:`~iii_engine.observe.frames`: frame dispatch, feature handshake, ``engine::observers::get``.

The router's only hook is ``entry.observers is not None`` (plus the frame's ``activation``):
with no observers and 0.23 peers, calls stay on the byte-forwarding path.
"""
