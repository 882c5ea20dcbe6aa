"""What other services learn when an order changes: the payloads of the `order.*` events.

Every payload has the same core: order_ref (the order's public reference, also the event's
aggregate_id), number, page_id, status (the order's status after the change), total_minor,
currency and occurred_at (ISO 8601, UTC); each type adds its own fields (see the README,
"Domain events"). Nothing that identifies a browser (no session id) and never a secret.
`order.created` is written by checkout.py with the order's lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.order import Order
from shared.events import emit_event

ORDER_PAID = "order.paid"
ORDER_EXPIRED = "order.expired"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"
# Money arrived that the shop could not accept as it stands (paid after expiry with a slot
# sold out meanwhile, a wrong amount, a second payment): a person must refund or restore.
ORDER_PAYMENT_FLAGGED = "order.payment_flagged"


@dataclass(frozen=True)
class OrderFacts:
    """An order's columns as read in the current transaction (never a cached ORM row)."""

    id: int
    number: str
    public_ref: str
    page_id: int | None
    user_id: int | None
    session_id: str | None
    status: str
    total_minor: int
    currency: str
    refunded_minor: int
    attention_reason: str | None


_COLUMNS = (
    Order.id,
    Order.number,
    Order.public_ref,
    Order.page_id,
    Order.user_id,
    Order.session_id,
    Order.status,
    Order.total_minor,
    Order.currency,
    Order.refunded_minor,
    Order.attention_reason,
)


async def order_facts(
    session: AsyncSession, order_id: int, *, for_update: bool = False
) -> OrderFacts | None:
    """The order's facts; `for_update` locks its row until the transaction ends
    (PostgreSQL; SQLite has one writer at a time)."""
    query = select(*_COLUMNS).where(Order.id == order_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).one_or_none()
    return None if row is None else OrderFacts(*row)


def emit_order_event(
    session: AsyncSession,
    event_type: str,
    order: OrderFacts,
    *,
    status: str,
    occurred_at: datetime,
    **details: Any,
) -> None:
    """Add the event to the caller's transaction, with the core every order event has."""
    payload: dict[str, Any] = {
        "order_ref": order.public_ref,
        "number": order.number,
        "page_id": order.page_id,
        "status": status,
        "total_minor": order.total_minor,
        "currency": order.currency,
        "occurred_at": occurred_at.isoformat(),
        **details,
    }
    emit_event(session, event_type, payload, aggregate_id=order.public_ref)
