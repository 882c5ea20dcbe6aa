"""Domain events through a transactional outbox.

`emit_event()` writes the event in the caller's transaction, so an event exists if and only
if the change it describes committed. The dispatcher (dispatcher.py, claims.py) reads the
outbox afterwards and delivers each event at least once, in order per aggregate, to the
in-process subscribers (subscribers.py) and to the Redis stream (stream.py); background.py
runs it inside the app, `manage.py events` outside it.
"""

from shared.events.emit import emit_event
from shared.events.outbox import OutboxEvent
from shared.events.subscribers import DeliveredEvent, subscribe

__all__ = ["DeliveredEvent", "OutboxEvent", "emit_event", "subscribe"]
