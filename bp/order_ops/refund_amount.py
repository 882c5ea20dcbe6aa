"""An operator's refund amount, in major units as people write it ("5.00", "5"), exactly."""

from __future__ import annotations

import re

from babel.numbers import get_currency_precision

from bp.order_ops.errors import OrderOpsError

_AMOUNT = re.compile(r"(\d{1,9})(?:\.(\d+))?")


def parse_refund_amount(text: str, currency: str) -> int:
    """Minor units: "5.00" GBP -> 500. Refuses signs, exponents, NaN, commas, more decimals
    than the currency has, and zero."""
    precision = get_currency_precision(currency)
    match = _AMOUNT.fullmatch(text.strip())
    if match is None or len(match.group(2) or "") > precision:
        raise OrderOpsError("amount_invalid", amount=text[:40], currency=currency)
    whole, fraction = match.group(1), (match.group(2) or "").ljust(precision, "0")
    minor = int(whole) * 10**precision + int(fraction or 0)
    if minor <= 0:
        raise OrderOpsError("amount_invalid", amount=text[:40], currency=currency)
    return minor
