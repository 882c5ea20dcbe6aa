"""Why a payment could not be started, as stable codes and the one place they become words.

Every message says what happened to the order: it is saved, so the shopper can pay later.
"""

from __future__ import annotations

from typing import Any

from shared.coded_error import CodedError

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


class PaymentError(CodedError):
    """A payment was not started; the order is unchanged. `code` is stable."""

    messages = MESSAGES
    statuses = STATUSES
    default_status = 409

    def __init__(self, code: str, *, public_ref: str | None = None, **params: Any) -> None:
        super().__init__(code, **params)
        self.public_ref = public_ref  # the order the shopper can go back to, if any
