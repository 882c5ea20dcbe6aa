"""Signing in adopts the anonymous session's orders, so the order just paid stays in view."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.order import Order
from shared.models import utcnow


async def adopt_session_orders(session: AsyncSession, *, session_id: str, user_id: int) -> int:
    """Give the session's anonymous orders to the user; returns how many. Does not commit.

    ONE conditional UPDATE: racing adoptions of the same session move each order once (the
    loser re-reads a row the winner changed and it matches no more), and an order that has
    a user already, anybody's, is never moved. session_id stays, a record of where the
    order was placed; the owner checks read user_id first, so the retired anonymous id
    reaches these orders no more.
    """
    result = await session.execute(
        update(Order)
        .where(Order.session_id == session_id, Order.user_id.is_(None))
        .values(user_id=user_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]
