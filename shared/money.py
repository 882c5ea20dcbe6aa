"""Money is integer minor units plus an ISO currency code; this is the one display helper."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision


def minor_to_major(amount_minor: int, currency: str) -> Decimal:
    """Exact: 1234 EUR cents -> Decimal('12.34'); 1234 JPY -> Decimal('1234')."""
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def major_to_minor(amount: Decimal | int | str, currency: str) -> int:
    """Exact inverse of minor_to_major; refuses an amount finer than the currency allows."""
    value = Decimal(str(amount)).scaleb(get_currency_precision(currency))
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(value)


# Babel takes ~40 µs a call and a cart page formats each price two or three times; prices
# repeat across lines, pages and requests, so the answers are kept.
@lru_cache(maxsize=8192)
def format_money(amount_minor: int, currency: str, locale: str = "en_GB") -> str:
    return format_currency(minor_to_major(amount_minor, currency), currency, locale=locale)
