"""An operator cancels an unpaid order: no payment can land any more, bookings go back.

Its SumUp checkouts are closed first (a payment found there is recorded and the cancel is
refused: the order is paid), then one conditional UPDATE pending|expired -> cancelled
decides, its bookings are released and `order.cancelled` is emitted (close_order.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.order_events import ORDER_CANCELLED, OrderFacts, order_facts
from bp.cart.services.payment_settings import SumUpClients
from bp.order_ops.close_checkouts import close_open_checkouts
from bp.order_ops.close_order import close_unpaid_order
from bp.order_ops.errors import OrderOpsError
from bp.order_ops.lookup import find_order
from models.order import OrderStatus
from shared.config import ConfigError
from sumup.errors import SumUpError

CANCELLABLE = (OrderStatus.PENDING, OrderStatus.EXPIRED)


async def cancel_order(
    session: AsyncSession, *, ref_or_number: str, client_for: SumUpClients, now: datetime
) -> OrderFacts:
    """The cancelled order; OrderOpsError when it is not unpaid or SumUp cannot be asked."""
    order = await find_order(session, ref_or_number)
    order_id, number, status = order.id, order.number, order.status
    await session.commit()
    if status not in CANCELLABLE:
        raise OrderOpsError("not_cancellable", number=number, status=status)
    try:
        found_paid = await close_open_checkouts(session, order_id=order_id, client_for=client_for)
    except (SumUpError, ConfigError) as error:
        await session.rollback()
        raise OrderOpsError("sumup_unavailable", detail=str(error)) from None
    if found_paid:
        raise OrderOpsError("paid_meanwhile", number=number)
    cancelled = await close_unpaid_order(
        session,
        order_id=order_id,
        from_statuses=CANCELLABLE,
        to_status=OrderStatus.CANCELLED,
        event_type=ORDER_CANCELLED,
        now=now,
        by="operator",
    )
    if cancelled is None:
        current = await order_facts(session, order_id)
        await session.commit()
        assert current is not None
        if current.status == OrderStatus.PAID:
            raise OrderOpsError("paid_meanwhile", number=number)
        raise OrderOpsError("not_cancellable", number=number, status=current.status)
    return cancelled
