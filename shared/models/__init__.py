"""The other domains' tables that the cart reads (owned by blog, market and events).

This service's migrations create them too, so that it runs on its own; in production the
owning services' migrations and ours describe the same columns.
"""

from shared.models.base import Base, Timestamped, utcnow
from shared.models.blog import Post, User
from shared.models.events import Calendar, CalendarEntry, CalendarSlot, EntryState
from shared.models.market import Product

__all__ = [
    "Base",
    "Calendar",
    "CalendarEntry",
    "CalendarSlot",
    "EntryState",
    "Post",
    "Product",
    "Timestamped",
    "User",
    "utcnow",
]
