"""Dates in the cart's templates, formatted for the configured locale."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime, format_time
from quart import current_app

from bp.cart import bp
from shared.base_app import settings_of


@bp.app_template_filter("slot_time")
def slot_time(starts_at: datetime, ends_at: datetime | None = None) -> str:
    """'Sat 5 Dec 2026, 10:00–12:00' (the end's date is left out when it is the same day)."""
    locale = settings_of(current_app).locale
    start = format_datetime(starts_at, "EEE d MMM y, HH:mm", locale=locale)
    if ends_at is None:
        return start
    if ends_at.date() == starts_at.date():
        return f"{start}–{format_time(ends_at, 'HH:mm', locale=locale)}"
    return f"{start} – {format_datetime(ends_at, 'EEE d MMM y, HH:mm', locale=locale)}"
