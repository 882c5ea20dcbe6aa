"""Why a payment could not be started, as stable codes and the one place they become words.

Every message says what happened to the order: it is saved, so the shopper can pay later.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    "payment_unavailable": (
        "The payment service did not answer. Your order {number} is saved; "
        "please try paying again in a moment."
    ),
    "payment_not_configured": (
        "Payments are not available for this shop right now. Your order {number} is saved; "
        "please try paying again later."
    ),
    "currency_not_accepted": (
        "This shop cannot take payments in {currency}. Your order {number} is saved; "
        "please contact the shop."
    ),
    "order_paid": "Order {number} is paid already.",
    "order_needs_attention": (
        "Order {number} has a payment that the shop must check before anything else; "
        "the shop will contact you."
    ),
    "order_not_payable": "Order {number} can no longer be paid ({status}).",
    "order_unknown": "We could not find that order.",
}

STATUSES: dict[str, int] = {"order_unknown": 404, "payment_unavailable": 503}


class PaymentError(Exception):
    """A payment was not started; the order is unchanged. `code` is stable."""

    def __init__(self, code: str, *, public_ref: str | None = None, **params: Any) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown payment error code {code!r}")
        super().__init__(code)
        self.code = code
        self.public_ref = public_ref
        self.params = params

    @property
    def message(self) -> str:
        return MESSAGES[self.code].format(**self.params)

    @property
    def status(self) -> int:
        return STATUSES.get(self.code, 409)
