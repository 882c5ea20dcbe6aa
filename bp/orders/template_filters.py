"""Words and dates of the order pages, for the configured locale."""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_datetime
from quart import current_app

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
    """'4 May 2030, 10:00 UTC': orders are stored in UTC and shown so, saying so."""
    # SQLite hands timestamps back without their zone; they are stored in UTC.
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return format_datetime(
        utc, "d MMM y, HH:mm 'UTC'", tzinfo=UTC, locale=settings_of(current_app).locale
    )
