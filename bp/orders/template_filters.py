"""Words and dates of the order pages, for the configured locale and the site's time zone."""

from __future__ import annotations

from datetime import datetime

from quart import current_app

from bp.cart.services.slot_time import format_moment
from bp.orders import bp
from bp.orders.services.status_words import booking_words, status_words
from shared.base_app import settings_of


@bp.app_template_filter("order_status")
def order_status(status: str) -> str:
    return status_words(status)


@bp.app_template_filter("booking_state")
def booking_state(state: str) -> str:
    return booking_words(state)


@bp.app_template_filter("order_date")
def order_date(moment: datetime) -> str:
    """'4 May 2030, 11:00 BST': stored in UTC, shown in the site's time zone, saying which."""
    settings = settings_of(current_app)
    return format_moment(moment, locale=settings.locale, time_zone=settings.site.time_zone)
