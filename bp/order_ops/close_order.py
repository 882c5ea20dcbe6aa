"""Close an unpaid order (expired or cancelled): one conditional UPDATE decides.

Whoever's UPDATE moves the order out of its unpaid status hands its cart lines and its
bookings back to the shopper's cart (free lines and pending bookings again, so they can be
changed and ordered anew) and emits the event, in the same transaction. A caller that finds
the order changed meanwhile (paid by a webhook, closed by another job) changes nothing.

A payment that still lands on an expired order takes them out of the cart again, if they
are still there (check_sumup_status.py); on a cancelled one it is flagged for a refund.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.held_lines import release_held_lines
from bp.cart.services.order_events import OrderFacts, emit_order_event, order_facts
from models.order import Order, OrderStatus
from shared.interfaces import Owner
from shared.registry import services


async def close_unpaid_order(
    session: AsyncSession,
    *,
    order_id: int,
    from_statuses: Sequence[OrderStatus],
    to_status: OrderStatus,
    event_type: str,
    now: datetime,
    extra_condition: ColumnElement[bool] | None = None,
    **details: Any,
) -> OrderFacts | None:
    """The order as closed by this call, or None if it was not in `from_statuses` (or the
    extra condition failed); commits either way."""
    conditions = [Order.id == order_id, Order.status.in_(from_statuses)]
    if extra_condition is not None:
        conditions.append(extra_condition)
    won = await session.execute(
        update(Order)
        .where(*conditions)
        .values(status=to_status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return None
    order = await order_facts(session, order_id)
    assert order is not None  # orders are never deleted
    # Lines before bookings: the order in which checkout and adoption take them.
    await release_held_lines(session, order_id=order_id)
    # To the order's owner now: an order adopted at sign-in gives its places to the user.
    released = await services.calendar.release_entries_for_order(
        session, order_id, Owner(user_id=order.user_id, session_id=order.session_id)
    )
    emit_order_event(
        session,
        event_type,
        order,
        status=to_status,
        occurred_at=now,
        bookings_released=released,
        **details,
    )
    await session.commit()
    return order
