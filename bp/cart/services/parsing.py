"""Turn what a form sent into the values a cart use case takes, or a `CartError`.

Pure functions: every malformed value is refused here, before any database is asked, so a
hostile or mistyped input can neither change anything nor reach the database as an
out-of-range number (PostgreSQL's `integer` stops at 2**31 - 1).
"""

from __future__ import annotations

import re

from bp.cart.services.errors import CartError

MAX_DATABASE_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() also accepts '²' and '٣'
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,199}")


def parse_quantity(raw: str | None, *, max_quantity: int) -> int:
    """A whole number from 1 to `max_quantity`; anything else is `quantity_invalid`."""
    text = (raw or "").strip()
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= max_quantity:
        raise CartError("quantity_invalid", max_quantity=max_quantity)
    return int(text)


def parse_id(raw: str | int | None, *, error: str) -> int:
    """A database id (1 .. 2**31-1) from a form field or a URL; else `CartError(error)`."""
    text = str(raw).strip() if raw is not None else ""
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_DATABASE_ID:
        raise CartError(error)
    return int(text)


def parse_product_id(raw: str | None) -> int:
    return parse_id(raw, error="product_unknown")


def parse_line_id(raw: str | int | None) -> int:
    return parse_id(raw, error="line_unknown")


def parse_entry_id(raw: str | int | None) -> int:
    return parse_id(raw, error="booking_unknown")


def parse_page_slug(raw: str | None) -> str:
    """A page slug as the blog makes them; anything else cannot name a page."""
    text = raw or ""
    if not _SLUG.fullmatch(text):
        raise CartError("page_unknown")
    return text
