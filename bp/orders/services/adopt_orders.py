"""Signing in adopts the anonymous session's recent orders, so the order just paid stays in view.

A browser is not a person: on a shared computer the anonymous orders of its session may be an
earlier visitor's. So a sign-in takes only what the shopper who signs in can be taken to have
just done: the orders placed in this browser in the last ADOPTION_WINDOW, and every pending
one whatever its age (it holds the cart's lines, which move with the cart: a cart must not
keep lines held by an order nobody can see). Older orders stay anonymous under the id the
sign-in retires (identity.py), so nobody's pages show them again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.order import Order, OrderStatus

# Long enough to pay and then sign in, or to sign in a while after an order that failed;
# short enough that the last visitor of a shared computer is rarely inside it.
ADOPTION_WINDOW = timedelta(minutes=120)


async def adopt_session_orders(
    session: AsyncSession, *, session_id: str, user_id: int, now: datetime
) -> int:
    """Give the session's pending orders and those placed since `now - ADOPTION_WINDOW` to
    the user; returns how many. Does not commit.

    ONE conditional UPDATE: racing adoptions of the same session move each order once (the
    loser re-reads a row the winner changed and it matches no more), and an order that has
    a user already, anybody's, is never moved. session_id stays, a record of where the
    order was placed; the owner checks read user_id first, so the retired anonymous id
    reaches these orders no more.
    """
    result = await session.execute(
        update(Order)
        .where(
            Order.session_id == session_id,
            Order.user_id.is_(None),
            or_(
                Order.status == OrderStatus.PENDING,
                Order.created_at >= now - ADOPTION_WINDOW,
            ),
        )
        .values(user_id=user_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]
