"""Trigger actions: how :meth:`Worker.trigger` hands a call to the engine.

::

    from iii_sdk import Enqueue, Void

    receipt = await worker.trigger("emails::send", {"to": "a@b.c"}, action=Enqueue(queue="emails"))
    # {"messageReceiptId": "…"}: the job is durably queued; a queue worker runs it later
    await worker.trigger("audit::log", {"event": "login"}, action=Void())  # fire and forget

``TriggerAction.Enqueue(queue=...)`` / ``TriggerAction.Void()`` is the official SDKs' spelling of
the same values, and the dict forms ``{"type": "enqueue", "queue": Q}`` / ``{"type": "void"}``
are accepted too.
"""

from __future__ import annotations

from iii_sdk.protocol import EnqueueAction as Enqueue
from iii_sdk.protocol import VoidAction as Void

__all__ = ["Enqueue", "TriggerAction", "Void"]


class TriggerAction:
    """Namespace with the official SDKs' names: ``TriggerAction.Enqueue(queue=Q)``,
    ``TriggerAction.Void()``."""

    Enqueue = Enqueue
    Void = Void
