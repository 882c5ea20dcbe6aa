"""What the shopper saw when the checkout form was rendered, as one short digest.

The checkout form carries the digest of the cart section it was rendered with: every line
(its product, quantity, unit price, currency and whether it can be bought) and every
booking (its slot and price). At checkout the digest of the cart as it is now must be the
same, otherwise the shopper would pay for something other than what the page showed.
It is not a secret: forging one only lets a shopper check out the cart as it is now.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a name for the annotations only: the bench's baseline loads this file alone
    from bp.cart.services.totals import Section

FINGERPRINT_LENGTH = 32  # hex digits of SHA-256 (128 bits): a change is never missed by chance
_FINGERPRINT = re.compile(f"[0-9a-f]{{{FINGERPRINT_LENGTH}}}")


def cart_fingerprint(section: Section) -> str:
    products = sorted(
        [
            "product",
            priced.line.line_id,
            priced.line.product_id,
            priced.line.quantity,
            priced.line.unit_price_minor,
            priced.line.currency,
            priced.total_minor is not None,
        ]
        for priced in section.product_lines
    )
    bookings = sorted(
        ["booking", booking.entry_id, booking.slot_id, booking.price_minor, booking.currency]
        for booking in section.booking_lines
    )
    seen = json.dumps([section.page_id, products, bookings], separators=(",", ":"))
    return hashlib.sha256(seen.encode()).hexdigest()[:FINGERPRINT_LENGTH]


def is_fingerprint(text: str) -> bool:
    return bool(_FINGERPRINT.fullmatch(text))
