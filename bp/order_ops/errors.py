"""Why an operator action was refused, as stable codes and the one place they become words."""

from __future__ import annotations

from shared.coded_error import CodedError

MESSAGES: dict[str, str] = {
    "order_unknown": "No order with the reference or number {ref!r}.",
    "not_cancellable": "Order {number} is {status}: only an unpaid order can be cancelled.",
    "paid_meanwhile": (
        "Order {number} was paid at SumUp while it was being cancelled; it is paid now "
        "(refund it instead)."
    ),
    "nothing_to_refund": "Order {number} has no SumUp payment to refund.",
    "fully_refunded": "Order {number} is refunded in full already.",
    "amount_invalid": (
        "{amount!r} is not an amount in {currency}: write it in major units, e.g. 5.00."
    ),
    "amount_too_large": (
        "Refund of {amount} refused: only {left} of order {number} is left to refund."
    ),
    "refund_refused": "SumUp refused the refund of order {number}: {detail}",
    "sumup_unavailable": "SumUp could not be asked ({detail}); nothing was changed.",
    "refund_unknown": (
        "SumUp did not answer the refund of order {number} ({detail}); it may or may not "
        "have been made: check SumUp before trying again. Nothing was recorded."
    ),
    "refund_not_recorded": (
        "SumUp refunded {amount} of order {number}, but another refund was recorded "
        "meanwhile and this one would exceed the total; record it by hand."
    ),
}


class OrderOpsError(CodedError):
    """An operator action was refused or failed; `code` is stable, `message` for people."""

    messages = MESSAGES
