"""Code shared by several built-in plugins (no worker of its own).

:mod:`plugins._shared.update_ops` holds the update operations of ``state::update`` and
``stream::update`` (one implementation for both); :mod:`plugins._shared.adapter` the
``adapter:`` config block of the state, stream and queue workers;
:mod:`plugins._shared.delivery` the in-order delivery of ``state`` and ``stream`` trigger events.
"""
