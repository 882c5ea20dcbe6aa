"""Orders as an operator finds them: by reference or number, or listed by status."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bp.order_ops.errors import OrderOpsError
from models.order import Order, OrderStatus
from models.payment_attempt import PaymentAttempt

# What order_numbers.py makes (public refs: token_urlsafe; numbers: "7KQ4-MZ2P"); nothing
# else reaches the database (PostgreSQL refuses a NUL in a string outright).
_REF_OR_NUMBER = re.compile(r"[A-Za-z0-9_-]{1,32}")
LIST_LIMIT_MAX = 1000


@dataclass(frozen=True)
class OrderRow:
    number: str
    public_ref: str
    status: str
    created_at: datetime
    total_minor: int
    refunded_minor: int
    currency: str
    page_id: int | None
    attention_reason: str | None


def parse_status(text: str | None) -> OrderStatus | None:
    """None for all; ValueError naming the statuses for anything else unknown."""
    if text is None:
        return None
    try:
        return OrderStatus(text.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in OrderStatus)
        raise ValueError(f"unknown status {text!r}: one of {known}") from None


async def list_orders(
    session: AsyncSession, *, status: OrderStatus | None, limit: int
) -> list[OrderRow]:
    """Newest first; at most `limit` (1..LIST_LIMIT_MAX)."""
    query = select(
        Order.number,
        Order.public_ref,
        Order.status,
        Order.created_at,
        Order.total_minor,
        Order.refunded_minor,
        Order.currency,
        Order.page_id,
        Order.attention_reason,
    )
    if status is not None:
        query = query.where(Order.status == status)
    query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(
        max(1, min(limit, LIST_LIMIT_MAX))
    )
    return [OrderRow(*row) for row in await session.execute(query)]


async def find_order(session: AsyncSession, ref_or_number: str) -> Order:
    """The order with that public reference or number, with its items and attempts loaded;
    OrderOpsError("order_unknown") otherwise."""
    text = ref_or_number.strip()
    if _REF_OR_NUMBER.fullmatch(text):
        order = await session.scalar(
            select(Order)
            .where(or_(Order.public_ref == text, Order.number == text.upper()))
            .options(selectinload(Order.items), selectinload(Order.payment_attempts))
            .execution_options(populate_existing=True)
        )
        if order is not None:
            return order
    raise OrderOpsError("order_unknown", ref=ref_or_number[:40])


def paid_attempt(order: Order) -> PaymentAttempt | None:
    """The attempt whose payment made the order paid (the first paid one)."""
    return next((a for a in order.payment_attempts if a.status == "PAID"), None)
