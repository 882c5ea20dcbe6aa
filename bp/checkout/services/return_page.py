"""The page SumUp sends the shopper back to: the order, and how its payment stands.

It asks SumUp itself (check_sumup_status) rather than wait for the webhook, which may come
later or never; either way the order is paid once.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.check_sumup_status import check_sumup_status
from bp.cart.services.payment import owned_order
from bp.cart.services.payment_settings import SumUpClients
from bp.order.services.next_steps import NextSteps, load_next_steps
from models.order import Order, OrderStatus
from models.payment_attempt import AttemptStatus, PaymentAttempt
from shared.config import ConfigError
from shared.interfaces import Owner
from sumup.errors import SumUpError

log = logging.getLogger(__name__)


class PaymentState(enum.StrEnum):
    PAID = "paid"
    PENDING = "pending"  # SumUp has not settled it yet: the page refreshes itself
    FAILED = "failed"  # may pay again
    EXPIRED = "expired"  # may pay again
    NOT_STARTED = "not_started"  # no checkout at SumUp yet (it did not answer): pay again
    ATTENTION = "attention"  # paid at SumUp but not accepted; the shop will look at it
    CLOSED = "closed"  # the order expired, was cancelled or refunded


_STATE_OF_ATTEMPT = {
    AttemptStatus.PENDING: PaymentState.PENDING,
    AttemptStatus.FAILED: PaymentState.FAILED,
    AttemptStatus.EXPIRED: PaymentState.EXPIRED,
    AttemptStatus.CREATING: PaymentState.NOT_STARTED,
    AttemptStatus.PAID: PaymentState.ATTENTION,  # the order is still pending: not accepted
}


@dataclass(frozen=True)
class ReturnView:
    order: Order  # with its items
    state: PaymentState
    pay_url: str | None  # the checkout still open at SumUp, while PENDING
    sumup_unreachable: bool  # SumUp could not be asked just now
    # "What happens next", when it is what the shopper is waiting for: paid, or waiting for
    # SumUp to say so (None otherwise: the page says what to do about the payment instead).
    next_steps: NextSteps | None = None

    @property
    def may_pay_again(self) -> bool:
        return self.state in (
            PaymentState.FAILED,
            PaymentState.EXPIRED,
            PaymentState.NOT_STARTED,
        )


async def load_return_view(
    session: AsyncSession, *, owner: Owner | None, public_ref: str, client_for: SumUpClients
) -> ReturnView | None:
    """The owner's order and its payment state, asking SumUp first; None: not theirs."""
    order = await owned_order(session, owner=owner, public_ref=public_ref)
    if order is None:
        return None
    order_id = order.id
    unreachable = False
    if order.status == OrderStatus.PENDING:
        latest = await _latest_attempt(session, order_id)
        if latest is not None and latest.sumup_checkout_id and latest.status != AttemptStatus.PAID:
            try:
                await check_sumup_status(
                    session, checkout_id=latest.sumup_checkout_id, client_for=client_for
                )
            except (SumUpError, ConfigError) as error:
                log.warning("order %s: could not ask SumUp: %s", order.number, error)
                unreachable = True
    order = await owned_order(session, owner=owner, public_ref=public_ref, with_items=True)
    assert order is not None  # orders are never deleted
    latest = await _latest_attempt(session, order_id)
    state = _state(order, latest)
    pay_url = latest.hosted_checkout_url if latest and state == PaymentState.PENDING else None
    next_steps = None
    if state in (PaymentState.PAID, PaymentState.PENDING):
        next_steps = await load_next_steps(session, order)
    return ReturnView(
        order=order,
        state=state,
        pay_url=pay_url,
        sumup_unreachable=unreachable,
        next_steps=next_steps,
    )


def _state(order: Order, latest: PaymentAttempt | None) -> PaymentState:
    if order.status == OrderStatus.PAID:
        return PaymentState.PAID
    if order.status != OrderStatus.PENDING:
        return PaymentState.CLOSED
    if order.attention_reason:
        return PaymentState.ATTENTION
    if latest is None:
        return PaymentState.NOT_STARTED
    return _STATE_OF_ATTEMPT[AttemptStatus(latest.status)]


async def _latest_attempt(session: AsyncSession, order_id: int) -> PaymentAttempt | None:
    return (
        await session.execute(
            select(PaymentAttempt)
            .where(PaymentAttempt.order_id == order_id)
            .order_by(PaymentAttempt.id.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
