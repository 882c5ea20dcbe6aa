"""The shopper gives up an order waiting for payment, to change the cart and check out again.

Its checkouts at SumUp are closed first (close_checkouts.py), with no transaction open
meanwhile: a payment found there is recorded and the order is paid, not given up. Only then
does one conditional UPDATE pending -> cancelled decide (close_order.py): its lines and
bookings go back to the cart and `order.cancelled` is emitted with `by: "shopper"`. A payment
that still lands on it afterwards is flagged for a refund, never accepted
(check_sumup_status.py: `paid_while_cancelled`).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.order_events import ORDER_CANCELLED, order_facts
from bp.cart.services.payment import owned_order
from bp.cart.services.payment_settings import SumUpClients
from bp.order_ops.close_checkouts import close_open_checkouts
from bp.order_ops.close_order import close_unpaid_order
from bp.orders.services.status_words import status_words
from models.order import Order, OrderStatus
from shared.config import ConfigError
from shared.interfaces import Owner
from shared.registry import services
from sumup.errors import SumUpError

log = logging.getLogger(__name__)


class GiveUp(enum.StrEnum):
    GIVEN_UP = "given_up"
    PAID = "paid"  # SumUp had taken the payment: the order is paid, nothing given up
    NOT_PENDING = "not_pending"  # paid, expired or cancelled already: nothing to give up
    UNREACHABLE = "unreachable"  # SumUp could not be asked: the order is still waiting


MESSAGES: dict[GiveUp, str] = {
    GiveUp.GIVEN_UP: (
        "Order {number} is given up and nothing was charged. Its items are back in your cart: "
        "change it and check out again when you are ready."
    ),
    GiveUp.PAID: "Order {number} was paid already, so it was not given up. Thank you!",
    GiveUp.NOT_PENDING: "Order {number} is not waiting for payment ({status}): nothing to give up.",
    GiveUp.UNREACHABLE: (
        "We could not reach the payment service to close the payment of order {number}, so "
        "it is still waiting for payment. Please try again in a moment."
    ),
}


@dataclass(frozen=True)
class GiveUpResult:
    outcome: GiveUp
    public_ref: str
    number: str
    page_slug: str | None  # the cart the order was made from (None: the site-level cart)
    message: str

    @property
    def category(self) -> str:
        return "error" if self.outcome == GiveUp.UNREACHABLE else "success"


async def give_up_order(
    session: AsyncSession,
    *,
    owner: Owner | None,
    public_ref: str,
    client_for: SumUpClients,
    now: datetime,
) -> GiveUpResult | None:
    """Give up the owner's pending order; None when it is not theirs (or does not exist)."""
    order = await owned_order(session, owner=owner, public_ref=public_ref)
    if order is None:
        return None
    order_id, number, page_id, status = order.id, order.number, order.page_id, order.status
    pages = await services.blog.pages_by_ids(session, {page_id} if page_id is not None else set())
    page_slug = pages[page_id].slug if page_id in pages else None
    await session.commit()

    def result(outcome: GiveUp, status: str = status) -> GiveUpResult:
        message = MESSAGES[outcome].format(number=number, status=status_words(status).lower())
        return GiveUpResult(outcome, public_ref, number, page_slug, message)

    if status != OrderStatus.PENDING:
        return result(GiveUp.NOT_PENDING)
    outcome, status_now = await _give_up(
        session, order_id=order_id, number=number, client_for=client_for, now=now
    )
    return result(outcome, status_now)


async def give_up_older_pending_orders(
    session: AsyncSession, *, user_id: int, client_for: SumUpClients, now: datetime
) -> list[str]:
    """After sign-in adopted a pending order into a user who had one for the same cart: all
    but the newest of each cart are given up, so the cart has one order to pay. Returns the
    numbers given up; one SumUp cannot close now stays pending (checkout stays refused while
    it does, and expiry closes it later)."""
    rows = (
        await session.execute(
            select(Order.id, Order.number, Order.page_id)
            .where(Order.user_id == user_id, Order.status == OrderStatus.PENDING)
            .order_by(Order.created_at.desc(), Order.id.desc())
        )
    ).all()
    await session.commit()
    newest_seen: set[int | None] = set()
    given_up = []
    for order_id, number, page_id in rows:
        if page_id not in newest_seen:
            newest_seen.add(page_id)
            continue
        outcome, _ = await _give_up(
            session, order_id=order_id, number=number, client_for=client_for, now=now
        )
        if outcome == GiveUp.GIVEN_UP:
            given_up.append(number)
    return given_up


async def _give_up(
    session: AsyncSession,
    *,
    order_id: int,
    number: str,
    client_for: SumUpClients,
    now: datetime,
) -> tuple[GiveUp, str]:
    """Close the pending order's checkouts at SumUp, then cancel it: (outcome, its status)."""
    try:
        if await close_open_checkouts(session, order_id=order_id, client_for=client_for):
            return GiveUp.PAID, OrderStatus.PAID
    except (SumUpError, ConfigError) as error:
        await session.rollback()
        log.warning("order %s not given up: SumUp could not be asked: %s", number, error)
        return GiveUp.UNREACHABLE, OrderStatus.PENDING
    closed = await close_unpaid_order(
        session,
        order_id=order_id,
        from_statuses=(OrderStatus.PENDING,),
        to_status=OrderStatus.CANCELLED,
        event_type=ORDER_CANCELLED,
        now=now,
        by="shopper",
    )
    if closed is not None:
        log.info("order %s given up by the shopper", number)
        return GiveUp.GIVEN_UP, OrderStatus.CANCELLED
    current = await order_facts(session, order_id)
    await session.commit()
    assert current is not None  # orders are never deleted
    if current.status == OrderStatus.PAID:
        return GiveUp.PAID, current.status
    return GiveUp.NOT_PENDING, current.status
