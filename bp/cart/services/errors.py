"""The cart's one exception, its stable codes, and the one place they become words.

Routes turn a `CartError` into a flash message or a JSON body with `message_for()` and
`status_for()`; nothing else writes a shopper-facing error text.
"""

from __future__ import annotations

from shared.coded_error import CodedError

# code -> the message a shopper reads; `{...}` fields come from the error's params.
MESSAGES: dict[str, str] = {
    "product_unknown": "We could not find that product. Nothing was added to your cart.",
    "product_unavailable": (
        "Sorry, {title} is not available any more. Nothing was added to your cart."
    ),
    "quantity_invalid": (
        "Please enter the quantity as a whole number from 1 to {max_quantity}. Nothing was changed."
    ),
    "quantity_invalid_for": (
        "Please enter the quantity of {title} as a whole number from 1 to {max_quantity}. "
        "Nothing was changed."
    ),
    # One field of the cart form, beside it and in the page's error summary (which says
    # once that nothing was changed).
    "quantity_field": "Enter the quantity of {title} as a whole number from 1 to {max_quantity}",
    "quantity_too_large": (
        "A cart can hold at most {max_quantity} of {title}; you already have {current}. "
        "Nothing was added."
    ),
    "line_unknown": "That item is not in your cart (any more). Nothing was changed.",
    "line_held": (
        "That item is part of an order waiting for payment, so it cannot be changed. Nothing "
        "was changed. To change it, give the order up on your cart page first."
    ),
    "booking_unknown": (
        "That booking is not in your cart (any more): it was removed, or it is part of an "
        "order already. Nothing was changed."
    ),
    "page_unknown": "There is no shop page at this address.",
}

# Not found is 404; anything else the shopper sent that we refuse is 400.
STATUSES: dict[str, int] = {
    "line_unknown": 404,
    "line_held": 409,
    "booking_unknown": 404,
    "page_unknown": 404,
}


class CartError(CodedError):
    """A cart rule refused what was asked; nothing was changed. `code` is stable."""

    messages = MESSAGES
    statuses = STATUSES
