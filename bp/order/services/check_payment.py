"""The order page's "Check payment status": ask SumUp now about the order's latest checkout.

The answer is recorded by check_sumup_status(), the same function the webhook and the
return page call, so pressing the button any number of times pays the order at most once.
No transaction is open while SumUp is asked (check_sumup_status commits first).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.check_sumup_status import Outcome, check_sumup_status
from bp.cart.services.payment import owned_order
from bp.cart.services.payment_settings import SumUpClients
from bp.orders.services.status_words import status_words
from models.order import Order, OrderStatus
from models.payment_attempt import PaymentAttempt
from shared.config import ConfigError
from shared.interfaces import Owner
from sumup.errors import SumUpError

log = logging.getLogger(__name__)


class CheckResult(enum.StrEnum):
    PAID = "paid"
    PENDING = "pending"
    FAILED = "failed"
    EXPIRED = "expired"
    ATTENTION = "attention"  # paid at SumUp but not accepted: the shop looks at it
    CLOSED = "closed"  # expired, cancelled or refunded: nothing to pay
    NOTHING_TO_CHECK = "nothing_to_check"  # no checkout ever reached SumUp
    UNREACHABLE = "unreachable"  # SumUp could not be asked; nothing changed


MESSAGES: dict[CheckResult, str] = {
    CheckResult.PAID: "Order {number} is paid. Thank you!",
    CheckResult.PENDING: (
        "SumUp has not received a payment for order {number} yet. "
        "If you have just paid, check again in a moment."
    ),
    CheckResult.FAILED: (
        "The last payment of order {number} did not go through; nothing was charged. "
        "You can pay again."
    ),
    CheckResult.EXPIRED: (
        "The payment page of order {number} expired before it was paid. You can pay again."
    ),
    CheckResult.ATTENTION: (
        "Order {number} has a payment that the shop must check by hand. "
        "They will contact you; please do not pay again."
    ),
    CheckResult.CLOSED: "Order {number}: {status}. It can no longer be paid.",
    CheckResult.NOTHING_TO_CHECK: (
        "No payment of order {number} has reached SumUp yet, so there is nothing to check."
    ),
    CheckResult.UNREACHABLE: (
        "We could not reach the payment service just now, so order {number} is as it was. "
        "Please try again in a moment."
    ),
}

CATEGORIES: dict[CheckResult, str] = {
    CheckResult.PAID: "success",
    CheckResult.PENDING: "info",
}

_RESULT_OF_OUTCOME = {
    Outcome.PENDING: CheckResult.PENDING,
    Outcome.FAILED: CheckResult.FAILED,
    Outcome.EXPIRED: CheckResult.EXPIRED,
    Outcome.NEEDS_ATTENTION: CheckResult.ATTENTION,
    Outcome.PAID: CheckResult.PAID,
    # Our own attempt's id always names our checkout; should SumUp ever answer about
    # another, nothing was recorded and the payment is still open as far as we know.
    Outcome.UNKNOWN: CheckResult.PENDING,
}


@dataclass(frozen=True)
class PaymentCheck:
    result: CheckResult
    number: str
    status: str  # the order's status after the check

    @property
    def message(self) -> str:
        return MESSAGES[self.result].format(number=self.number, status=status_words(self.status))

    @property
    def category(self) -> str:
        return CATEGORIES.get(self.result, "error")


async def check_order_payment(
    session: AsyncSession, *, owner: Owner | None, public_ref: str, client_for: SumUpClients
) -> PaymentCheck | None:
    """Ask SumUp about the owner's order and record the answer; None: not their order."""
    order = await owned_order(session, owner=owner, public_ref=public_ref)
    if order is None:
        return None
    order_id, number = order.id, order.number
    if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED):
        # SumUp never takes a payment back: nothing it could say changes these.
        return await _after(session, order_id, number, CheckResult.PAID)
    checkout_id = await session.scalar(
        select(PaymentAttempt.sumup_checkout_id)
        .where(PaymentAttempt.order_id == order_id, PaymentAttempt.sumup_checkout_id.is_not(None))
        .order_by(PaymentAttempt.id.desc())
        .limit(1)
    )
    if checkout_id is None:
        return await _after(session, order_id, number, CheckResult.NOTHING_TO_CHECK)
    try:
        checked = await check_sumup_status(session, checkout_id=checkout_id, client_for=client_for)
    except (SumUpError, ConfigError) as error:
        # The code and SumUp's message only: the client keeps the key out of both.
        log.warning("order %s: could not ask SumUp: %s", number, error)
        await session.rollback()
        return await _after(session, order_id, number, CheckResult.UNREACHABLE)
    return await _after(session, order_id, number, _RESULT_OF_OUTCOME[checked.outcome])


async def _after(
    session: AsyncSession, order_id: int, number: str, result: CheckResult
) -> PaymentCheck:
    """The result as the order now stands: a paid, flagged or closed order says so first."""
    status, attention = (
        await session.execute(
            select(Order.status, Order.attention_reason).where(Order.id == order_id)
        )
    ).one()
    await session.commit()
    if status == OrderStatus.PAID:
        result = CheckResult.PAID
    elif attention is not None and result != CheckResult.UNREACHABLE:
        result = CheckResult.ATTENTION
    elif status != OrderStatus.PENDING and result != CheckResult.UNREACHABLE:
        result = CheckResult.CLOSED
    return PaymentCheck(result=result, number=number, status=status)
