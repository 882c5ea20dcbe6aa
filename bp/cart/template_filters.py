"""Dates in the cart's templates, in the site's time zone and the configured locale."""

from __future__ import annotations

from datetime import datetime

from quart import current_app

from bp.cart import bp
from bp.cart.services.slot_time import format_slot_time
from shared.base_app import settings_of


@bp.app_template_filter("slot_time")
def slot_time(starts_at: datetime, ends_at: datetime | None = None) -> str:
    """'Sat 5 Dec 2026, 10:00–12:00 GMT' (the end's date is left out when it is the same day)."""
    settings = settings_of(current_app)
    return format_slot_time(
        starts_at, ends_at, locale=settings.locale, time_zone=settings.site.time_zone
    )
