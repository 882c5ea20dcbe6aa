"""Orders made straight in the database (many, with chosen dates) for the order pages' tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order
from shared.interfaces import Owner

_serial = itertools.count(1)
DAY_ONE = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class MadeOrder:
    id: int
    number: str
    public_ref: str


async def make_orders(
    db: AsyncSession,
    owner: Owner,
    count: int,
    *,
    page_id: int | None = None,
    status: str = "paid",
    first_day: datetime = DAY_ONE,
    total_minor: int = 1000,
) -> list[MadeOrder]:
    """`count` orders of the owner, one a day from `first_day` on, oldest first."""
    made = []
    for day in range(count):
        n = next(_serial)
        order = Order(
            number=f"T{n:04d}-LIST",
            public_ref=f"ref{n:04d}" + "x" * 20,
            user_id=owner.user_id,
            session_id=owner.session_id,
            page_id=page_id,
            status=status,
            currency="GBP",
            total_minor=total_minor + day,
            idempotency_key=f"key-{n}",
            created_at=first_day + timedelta(days=day),
        )
        db.add(order)
        made.append(order)
    await db.commit()
    return [MadeOrder(order.id, order.number, order.public_ref) for order in made]


async def order_owners(db: AsyncSession) -> dict[str, tuple[int | None, str | None]]:
    """Each order's number -> (user_id, session_id), as committed now."""
    await db.rollback()
    rows = await db.execute(select(Order.number, Order.user_id, Order.session_id))
    return {row.number: (row.user_id, row.session_id) for row in rows}
