"""What happens once an order has become paid: the winner's work, done exactly once.

Whoever moved the order to `paid` by a conditional UPDATE (a SumUp status check, a late
payment honoured after expiry, a free order at checkout) calls this in the same
transaction: the bookings are confirmed, the cart lines the order was made from leave the
cart, and `order.paid` goes into the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.clear_cart_for_order import clear_cart_for_order
from bp.cart.services.order_events import ORDER_PAID, OrderFacts, emit_order_event
from models.order import OrderStatus
from shared.registry import services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentFacts:
    """The SumUp checkout that paid the order (all None for a free order)."""

    checkout_reference: str | None = None
    sumup_checkout_id: str | None = None
    transaction_code: str | None = None


FREE = PaymentFacts()


async def complete_paid_order(
    session: AsyncSession,
    *,
    order: OrderFacts,
    paid_at: datetime,
    payment: PaymentFacts,
    after_expiry: bool = False,
) -> None:
    """Confirm the bookings, clear the cart lines, emit order.paid; does not commit."""
    confirmed = await services.calendar.confirm_entries_for_order(session, order.id)
    cleared = await clear_cart_for_order(session, order_id=order.id)
    emit_order_event(
        session,
        ORDER_PAID,
        order,
        status=OrderStatus.PAID,
        occurred_at=paid_at,
        paid_at=paid_at.isoformat(),
        checkout_reference=payment.checkout_reference,
        sumup_checkout_id=payment.sumup_checkout_id,
        transaction_code=payment.transaction_code,
        free=payment == FREE,
        after_expiry=after_expiry,
    )
    log.info(
        "order %s paid (checkout %s%s): %d bookings confirmed, %d cart lines cleared",
        order.number,
        payment.checkout_reference or "none: free",
        ", after it had expired" if after_expiry else "",
        confirmed,
        cleared,
    )
