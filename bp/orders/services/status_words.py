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

# A payment attempt's status as SumUp last told us.
ATTEMPT_WORDS: dict[str, str] = {
    AttemptStatus.CREATING: "Not started: SumUp did not answer",
    AttemptStatus.PENDING: "Waiting for the payment",
    AttemptStatus.PAID: "Paid",
    AttemptStatus.FAILED: "Failed: nothing was charged",
    AttemptStatus.EXPIRED: "Expired before it was paid",
}


def booking_words(state: str) -> str:
    return BOOKING_WORDS.get(state, state.capitalize())


def attempt_words(status: str) -> str:
    return ATTEMPT_WORDS.get(status, status.capitalize())
