"""The checkout form's two hidden fields: a one-time key and the fingerprint of the cart.

The key is made each time a cart page renders. It becomes the order's idempotency key, so
a double-click or a replay of that one form finds the order it made instead of making a
second; another rendering (another tab) has another key. Parsing refuses anything that a
rendering of ours could not have produced, before any database is asked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from bp.cart.services.checkout_errors import CheckoutError
from bp.cart.services.fingerprint import is_fingerprint

CHECKOUT_KEY_BYTES = 24  # 32 URL-safe characters; Order.idempotency_key holds 64
_CHECKOUT_KEY = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class CheckoutForm:
    idempotency_key: str
    fingerprint: str


def new_checkout_key() -> str:
    return secrets.token_urlsafe(CHECKOUT_KEY_BYTES)


def parse_checkout_form(*, key: str | None, fingerprint: str | None) -> CheckoutForm:
    if not key or not _CHECKOUT_KEY.fullmatch(key) or not fingerprint:
        raise CheckoutError("form_expired")
    if not is_fingerprint(fingerprint):
        raise CheckoutError("cart_changed")
    return CheckoutForm(idempotency_key=key, fingerprint=fingerprint)
