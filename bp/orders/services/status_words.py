"""An order's status as the shopper reads it: the one place the words live."""

from __future__ import annotations

from models.order import OrderStatus
from models.payment_attempt import AttemptStatus

STATUS_WORDS: dict[str, str] = {
    OrderStatus.PENDING: "Waiting for payment",
    OrderStatus.PAID: "Paid",
    OrderStatus.EXPIRED: "Expired: not paid in time",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REFUNDED: "Refunded",
}


def status_words(status: str) -> str:
    # A status added later reads as itself rather than breaking the page.
    return STATUS_WORDS.get(status, status.capitalize())


# A booking's state, as the order page shows its places.
BOOKING_WORDS: dict[str, str] = {
    "pending": "In your cart",
    "ordered": "Held for this order until it is paid",
    "confirmed": "Confirmed",
    "cancelled": "Cancelled",
}

# What happened to a payment attempt, in the shopper's words (never SumUp's codes).
ATTEMPT_WORDS: dict[str, str] = {
    AttemptStatus.CREATING: "Not started: the payment service did not answer",
    AttemptStatus.PENDING: "Waiting for the payment",
    AttemptStatus.PAID: "Paid",
    AttemptStatus.FAILED: "Declined: nothing was charged",
    AttemptStatus.EXPIRED: "Closed before it was paid: nothing was charged",
}
DECLINED_WORDS = ATTEMPT_WORDS[AttemptStatus.FAILED]


def booking_words(state: str) -> str:
    return BOOKING_WORDS.get(state, state.capitalize())


def attempt_words(status: str, *, declined: bool = False) -> str:
    """A declined attempt stays declined, whatever SumUp's status of it became since."""
    if declined and status != AttemptStatus.PAID:
        return DECLINED_WORDS
    return ATTEMPT_WORDS.get(status, "Unknown: the shop will check it")
