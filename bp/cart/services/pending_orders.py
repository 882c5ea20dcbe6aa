"""The orders waiting for payment that a shopper's carts have made: one a cart, normally.

The cart page shows its pending order (number, amount, what it holds, a way to pay it and a
way to give it up), and checkout refuses to make a second one while it is there
(checkout.py). Each is read with its lines as copied at checkout, in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.lines import LineScope
from models.order import Order, OrderItem, OrderStatus
from shared.interfaces import Owner
from shared.statements import belongs_to_owner_param, fetch_all, owner_params


@dataclass(frozen=True)
class PendingItem:
    title: str  # as copied at checkout; a booking's carries its slot's time
    quantity: int


@dataclass(frozen=True)
class PendingOrder:
    public_ref: str
    number: str
    page_id: int | None
    total_minor: int
    currency: str
    items: tuple[PendingItem, ...] = ()


async def pending_orders_of(
    session: AsyncSession, *, owner: Owner
) -> dict[int | None, PendingOrder]:
    """The owner's pending orders by page (None: the site-level cart), in one query.

    Should a cart have two for a moment (sign-in adopting one into a user who had one: the
    older is then given up, bp/order/services/give_up.py), the newest is shown, and checkout
    stays refused while either is there.
    """
    query = _pending_query(signed_in=owner.signed_in, scope="all")
    found = await _pending(session, query, owner_params(owner))
    return {order.page_id: order for order in found}


async def pending_order_of(
    session: AsyncSession, *, owner: Owner, page_id: int | None
) -> PendingOrder | None:
    """The owner's pending order from the cart of `page_id`, if there is one."""
    query = _pending_query(signed_in=owner.signed_in, scope="site" if page_id is None else "page")
    found = await _pending(session, query, {**owner_params(owner), "page_id": page_id})
    return found[-1] if found else None


@cache
def _pending_query(*, signed_in: bool, scope: LineScope) -> Select[*tuple[Any, ...]]:
    """The owner's pending orders, oldest first, each joined to its items; built once per
    variant (shared/statements.py)."""
    query = (
        select(
            Order.id,
            Order.public_ref,
            Order.number,
            Order.page_id,
            Order.total_minor,
            Order.currency,
            OrderItem.title,
            OrderItem.quantity,
        )
        .outerjoin(OrderItem, OrderItem.order_id == Order.id)
        .where(
            belongs_to_owner_param(Order, signed_in=signed_in),
            Order.status == OrderStatus.PENDING,
        )
    )
    if scope == "site":
        query = query.where(Order.page_id.is_(None))
    elif scope == "page":
        query = query.where(Order.page_id == bindparam("page_id"))
    return query.order_by(Order.created_at, Order.id, OrderItem.id)


async def _pending(
    session: AsyncSession, query: Select[*tuple[Any, ...]], params: dict[str, Any]
) -> list[PendingOrder]:
    """The orders `query` finds, with their items, from its one row per item."""
    rows = await fetch_all(session, query, params)
    orders: dict[int, PendingOrder] = {}
    for row in rows:
        order = orders.get(row.id) or PendingOrder(
            row.public_ref, row.number, row.page_id, row.total_minor, row.currency
        )
        if row.title is not None:
            item = PendingItem(row.title, row.quantity)
            order = PendingOrder(**{**order.__dict__, "items": (*order.items, item)})
        orders[row.id] = order
    return list(orders.values())
