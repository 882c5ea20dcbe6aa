"""Domain events through a transactional outbox.

`emit_event()` writes the event in the caller's transaction, so an event exists if and only
if the change it describes committed. Delivery to subscribers and to the Redis stream reads
the outbox afterwards.
"""

from shared.events.emit import emit_event
from shared.events.outbox import OutboxEvent

__all__ = ["OutboxEvent", "emit_event"]
