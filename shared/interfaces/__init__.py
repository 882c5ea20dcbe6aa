"""What the cart may know of the other domains: typed interfaces and plain data objects."""

from shared.interfaces.blog import BlogService, PageInfo
from shared.interfaces.calendar import (
    BookingError,
    CalendarService,
    EntryInfo,
    SlotInfo,
    SlotSoldOut,
)
from shared.interfaces.market import MarketService, ProductInfo
from shared.interfaces.owner import Owner

__all__ = [
    "BlogService",
    "BookingError",
    "CalendarService",
    "EntryInfo",
    "MarketService",
    "Owner",
    "PageInfo",
    "ProductInfo",
    "SlotInfo",
    "SlotSoldOut",
]
