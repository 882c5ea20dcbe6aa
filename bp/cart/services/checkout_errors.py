"""Why a checkout was refused: `CheckoutError(code)` and the one table of its messages.

Every refusal means that nothing was ordered and nothing was written; the messages say so,
because a shopper who is refused at the moment of paying wants to know exactly that.
"""

from __future__ import annotations

from shared.coded_error import CodedError

_NOTHING_ORDERED = "Nothing was ordered."

# code -> the message a shopper reads; `{...}` fields come from the error's params.
MESSAGES: dict[str, str] = {
    "page_unknown": "There is no shop page at this address.",
    "form_expired": (
        f"This checkout form has expired. {_NOTHING_ORDERED} Please check your cart and "
        "check out again."
    ),
    "cart_empty": f"There is nothing in this cart to pay for. {_NOTHING_ORDERED}",
    "cart_changed": (
        "Your cart changed since the page was shown (prices, quantities or items are not "
        f"what you saw). {_NOTHING_ORDERED} Please check your cart and check out again."
    ),
    "product_unavailable": (
        f"Sorry, {{titles}} cannot be bought any more. {_NOTHING_ORDERED} Please check your "
        "cart and check out again."
    ),
    "currencies_mixed": (
        "This cart has prices in {currencies}, and one payment is made in one currency. "
        f"{_NOTHING_ORDERED}"
    ),
    "total_too_large": f"This cart's total is larger than one payment can be. {_NOTHING_ORDERED}",
    "slot_sold_out": (
        f"Sorry, {{slot}} is sold out: its last place has just been taken. {_NOTHING_ORDERED}"
    ),
    "booking_taken": (
        "Your booking for {slot} is already part of another order (checked out in another "
        f"tab or window?). {_NOTHING_ORDERED} Please check your cart."
    ),
    "order_pending": (
        "Order {number} from this cart is waiting for payment, so no second order was made. "
        "Pay it below, or give it up to change your cart and check out again."
    ),
    "places_limit": (
        "One shopper may hold at most {limit} places of {slot} in orders waiting for payment, "
        f"and this checkout would hold more. {_NOTHING_ORDERED} Please remove some of those "
        "bookings from your cart and check out again."
    ),
    "unpaid_orders_limit": (
        "You have {count} orders waiting for payment ({numbers}), as many as one shopper may "
        f"have at once. {_NOTHING_ORDERED} Please pay one of them or give it up (see Your "
        "orders), then check out again."
    ),
}

# An unknown page is not found; a cart that changed under the form is a conflict; a form
# that cannot be used is a bad request.
STATUSES: dict[str, int] = {
    "page_unknown": 404,
    "cart_changed": 409,
    "product_unavailable": 409,
    "slot_sold_out": 409,
    "booking_taken": 409,
    "order_pending": 409,
    "places_limit": 409,
    "unpaid_orders_limit": 409,
}


class CheckoutError(CodedError):
    """A checkout was refused and nothing was written; `code` is stable."""

    messages = MESSAGES
    statuses = STATUSES
