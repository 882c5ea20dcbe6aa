"""How a booking's time reads, for the cart's pages and for the order's copy of its title."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime, format_time

_DAY_AND_TIME = "EEE d MMM y, HH:mm"


def format_slot_time(starts_at: datetime, ends_at: datetime | None, *, locale: str) -> str:
    """'Sat 5 Dec 2026, 10:00–12:00' (the end's date is left out when it is the same day)."""
    start = format_datetime(starts_at, _DAY_AND_TIME, locale=locale)
    if ends_at is None:
        return start
    if ends_at.date() == starts_at.date():
        return f"{start}–{format_time(ends_at, 'HH:mm', locale=locale)}"
    return f"{start} – {format_datetime(ends_at, _DAY_AND_TIME, locale=locale)}"
