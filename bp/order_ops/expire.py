"""Expiry: an order left unpaid too long becomes `expired` and gives its bookings back.

"Too long" counts from the order's last payment attempt, not only its creation: a shopper
who pressed Pay again a minute ago has a fresh 30-minute checkout at SumUp and is not cut
off in the middle of paying.

For each order: its open checkouts are deactivated at SumUp first (close_checkouts.py; one
found paid is recorded instead, and the order is paid, not expired), then one conditional
UPDATE pending -> expired decides (close_order.py). A payment that still lands afterwards
(a checkout made by a Pay again racing this job) is honoured by check_sumup_status.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.order_events import ORDER_EXPIRED
from bp.cart.services.payment_settings import SumUpClients
from bp.order_ops.close_checkouts import close_open_checkouts
from bp.order_ops.close_order import close_unpaid_order
from models.order import Order, OrderStatus
from models.payment_attempt import PaymentAttempt
from shared.config import ConfigError
from sumup.errors import SumUpError

log = logging.getLogger(__name__)

BATCH = 100  # orders per round; the next round takes the rest


class Expiry(enum.StrEnum):
    EXPIRED = "expired"
    PAID = "paid"  # SumUp had taken a payment: recorded, the order is paid
    UNCHANGED = "unchanged"  # no longer pending, or paid again recently
    UNREACHABLE = "unreachable"  # SumUp could not be asked: tried again next round


@dataclass
class ExpiryRound:
    outcomes: dict[str, list[str]] = field(default_factory=dict)  # outcome -> order numbers

    def add(self, outcome: Expiry, number: str) -> None:
        self.outcomes.setdefault(outcome, []).append(number)

    def numbers(self, outcome: Expiry) -> list[str]:
        return self.outcomes.get(outcome, [])


def _quiet_since(cutoff: datetime) -> ColumnElement[bool]:
    """Made before the cutoff, and no payment attempt started since."""
    recent_attempt = exists().where(
        PaymentAttempt.order_id == Order.id, PaymentAttempt.created_at >= cutoff
    )
    return (Order.created_at < cutoff) & ~recent_attempt


async def expire_unpaid_orders(
    session: AsyncSession, *, client_for: SumUpClients, now: datetime, after: timedelta
) -> ExpiryRound:
    """Expire the orders unpaid for longer than `after` (oldest first, BATCH of them)."""
    cutoff = now - after
    due = (
        await session.execute(
            select(Order.id, Order.number)
            .where(Order.status == OrderStatus.PENDING, _quiet_since(cutoff))
            .order_by(Order.id)
            .limit(BATCH)
        )
    ).all()
    await session.commit()
    done = ExpiryRound()
    for order_id, number in due:
        outcome = await expire_order(
            session, order_id=order_id, client_for=client_for, now=now, cutoff=cutoff
        )
        done.add(outcome, number)
    if due:
        log.info("expiry round: %s", {k: len(v) for k, v in done.outcomes.items()})
    return done


async def expire_order(
    session: AsyncSession,
    *,
    order_id: int,
    client_for: SumUpClients,
    now: datetime,
    cutoff: datetime,
) -> Expiry:
    try:
        if await close_open_checkouts(session, order_id=order_id, client_for=client_for):
            return Expiry.PAID
    except (SumUpError, ConfigError) as error:
        await session.rollback()
        log.warning("order %s not expired: SumUp could not be asked: %s", order_id, error)
        return Expiry.UNREACHABLE
    closed = await close_unpaid_order(
        session,
        order_id=order_id,
        from_statuses=(OrderStatus.PENDING,),
        to_status=OrderStatus.EXPIRED,
        event_type=ORDER_EXPIRED,
        now=now,
        extra_condition=_quiet_since(cutoff),
    )
    return Expiry.UNCHANGED if closed is None else Expiry.EXPIRED
