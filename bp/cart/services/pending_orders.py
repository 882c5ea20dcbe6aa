"""The orders waiting for payment that a shopper's carts have made: at most one a cart.

The cart page shows its pending order (number, amount, a way to pay it and a way to give it
up), and checkout refuses to make a second one while it is there (checkout.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.orders.services.ownership import orders_of
from models.order import Order, OrderStatus
from shared.interfaces import Owner


@dataclass(frozen=True)
class PendingOrder:
    public_ref: str
    number: str
    page_id: int | None
    total_minor: int
    currency: str


_COLUMNS = (Order.public_ref, Order.number, Order.page_id, Order.total_minor, Order.currency)


async def pending_orders_of(
    session: AsyncSession, *, owner: Owner
) -> dict[int | None, PendingOrder]:
    """The owner's pending orders by page (None: the site-level cart), in one query.

    An order adopted at sign-in may make two for one page (the user's own and the one made
    before signing in); the newest is shown, and checkout stays refused while either is.
    """
    rows = await session.execute(
        select(*_COLUMNS)
        .where(orders_of(owner), Order.status == OrderStatus.PENDING)
        .order_by(Order.created_at, Order.id)
    )
    return {row.page_id: PendingOrder(*row) for row in rows.all()}


async def pending_order_of(
    session: AsyncSession, *, owner: Owner, page_id: int | None
) -> PendingOrder | None:
    """The owner's pending order from the cart of `page_id`, if there is one."""
    on_page = Order.page_id.is_(None) if page_id is None else Order.page_id == page_id
    row = (
        await session.execute(
            select(*_COLUMNS)
            .where(orders_of(owner), Order.status == OrderStatus.PENDING, on_page)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else PendingOrder(*row)
