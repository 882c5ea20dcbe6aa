"""An operator refunds a paid order through SumUp, in full or in part.

The amount is checked against what is left (total - refunded so far) before SumUp is
asked; no transaction stays open during the call. SumUp's refusal is reported with its own
detail and nothing is recorded. Once SumUp has refunded, one conditional UPDATE adds the
amount (... WHERE refunded_minor + amount <= total_minor, also a check constraint), the
order becomes `refunded` when nothing is left, and `order.refunded` is emitted.

Two operators refunding the same order at once could both pass the check; SumUp refuses
the part that exceeds the payment, and the UPDATE's condition refuses to record more than
the total, so the books never show more refunded than was paid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.order_events import ORDER_REFUNDED, emit_order_event, order_facts
from bp.cart.services.payment_settings import SumUpClients, payment_settings_for
from bp.order_ops.errors import OrderOpsError
from bp.order_ops.lookup import find_order, paid_attempt
from bp.order_ops.refund_amount import parse_refund_amount
from models.order import Order, OrderStatus
from shared.config import ConfigError
from shared.money import format_money
from sumup.errors import SumUpError, SumUpRefundError, SumUpUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refunded:
    number: str
    public_ref: str
    amount_minor: int
    refunded_minor: int  # in all, this refund included
    total_minor: int
    currency: str
    status: str


async def refund_order(
    session: AsyncSession,
    *,
    ref_or_number: str,
    amount: str | None,
    client_for: SumUpClients,
    now: datetime,
) -> Refunded:
    """Refund `amount` (major units; None: all that is left); OrderOpsError when refused."""
    order = await find_order(session, ref_or_number)
    attempt = paid_attempt(order)
    number, currency = order.number, order.currency
    left = order.total_minor - order.refunded_minor
    if attempt is None or attempt.transaction_id is None:
        await session.commit()
        raise OrderOpsError("nothing_to_refund", number=number)
    if left <= 0:
        await session.commit()
        raise OrderOpsError("fully_refunded", number=number)
    amount_minor = left if amount is None else parse_refund_amount(amount, currency)
    if amount_minor > left:
        await session.commit()
        raise OrderOpsError(
            "amount_too_large",
            number=number,
            amount=format_money(amount_minor, currency),
            left=format_money(left, currency),
        )
    account = await payment_settings_for(session, page_id=order.page_id, site=client_for.site)
    order_id, merchant_code, transaction_id = (
        order.id,
        attempt.merchant_code,
        attempt.transaction_id,
    )
    await session.commit()  # nothing stays open while SumUp is asked

    try:
        await client_for(account).refund_transaction(
            merchant_code=merchant_code,
            transaction_id=transaction_id,
            amount_minor=amount_minor,
            currency=currency,
        )
    except SumUpRefundError as refused:
        raise OrderOpsError("refund_refused", number=number, detail=refused.message) from None
    except SumUpUnavailable as silent:
        raise OrderOpsError("refund_unknown", number=number, detail=str(silent)) from None
    except (SumUpError, ConfigError) as error:
        raise OrderOpsError("sumup_unavailable", detail=str(error)) from None

    return await _record_refund(
        session,
        order_id=order_id,
        amount_minor=amount_minor,
        now=now,
        transaction_id=transaction_id,
    )


async def _record_refund(
    session: AsyncSession, *, order_id: int, amount_minor: int, now: datetime, transaction_id: str
) -> Refunded:
    after = Order.refunded_minor + amount_minor
    recorded = await session.execute(
        update(Order)
        .where(Order.id == order_id, after <= Order.total_minor)
        .values(
            refunded_minor=after,
            status=case((after == Order.total_minor, OrderStatus.REFUNDED), else_=Order.status),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    order = await order_facts(session, order_id)
    assert order is not None  # orders are never deleted
    if recorded.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        log.error(
            "order %s: SumUp refunded %d but it cannot be recorded", order.number, amount_minor
        )
        raise OrderOpsError(
            "refund_not_recorded",
            number=order.number,
            amount=format_money(amount_minor, order.currency),
        )
    emit_order_event(
        session,
        ORDER_REFUNDED,
        order,
        status=order.status,
        occurred_at=now,
        amount_minor=amount_minor,
        refunded_minor=order.refunded_minor,
        fully_refunded=order.refunded_minor == order.total_minor,
        transaction_id=transaction_id,
    )
    await session.commit()
    log.info("order %s: refunded %d (%d in all)", order.number, amount_minor, order.refunded_minor)
    return Refunded(
        number=order.number,
        public_ref=order.public_ref,
        amount_minor=amount_minor,
        refunded_minor=order.refunded_minor,
        total_minor=order.total_minor,
        currency=order.currency,
        status=order.status,
    )
