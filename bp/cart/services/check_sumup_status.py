"""Ask SumUp how a checkout stands and record it; pay the order exactly once.

The webhook and the shopper's return visit both end here, in any order, any number of
times, at the same moment. The webhook's body is never trusted: the status comes from
SumUp's own answer to GET /v0.1/checkouts/{id}.

Exactly once: the PAID attempt is recorded by a conditional UPDATE (... WHERE status <>
'PAID') and the order by another (... WHERE status = 'pending'); the database lets only one
transaction see each row in its old state, so only one caller confirms the bookings, emits
`order.paid` and clears the cart (paid_order.py), and every other caller changes nothing.

A payment that lands after the order expired is honoured: its bookings are claimed again
and the order goes expired -> paid; if they cannot be, it is flagged for a refund.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.held_lines import plan_take_back, take_back
from bp.cart.services.order_events import (
    ORDER_PAYMENT_FLAGGED,
    OrderFacts,
    emit_order_event,
    order_facts,
)
from bp.cart.services.paid_order import PaymentFacts, complete_paid_order
from bp.cart.services.payment_settings import SumUpClients, payment_settings_for
from models.order import Order, OrderItem, OrderItemKind, OrderStatus
from models.payment_attempt import AttemptStatus, PaymentAttempt
from shared.interfaces import BookingError, Owner
from shared.models import utcnow
from shared.registry import services
from sumup.client import SumUpCheckout

log = logging.getLogger(__name__)

# Once SumUp says PAID or EXPIRED, a late answer about an earlier moment must not undo it.
_FINAL_ATTEMPT_STATUSES = (AttemptStatus.PAID, AttemptStatus.EXPIRED)
ATTENTION_LENGTH = 300  # Order.attention_reason


class Outcome(enum.StrEnum):
    UNKNOWN = "unknown"  # not a checkout of ours: ignored
    PENDING = "pending"
    PAID = "paid"  # the order is paid (by this call or an earlier one)
    FAILED = "failed"  # the shopper may pay again
    EXPIRED = "expired"  # likewise
    NEEDS_ATTENTION = "needs_attention"  # paid at SumUp, not accepted: a person must look


@dataclass(frozen=True)
class StatusCheck:
    outcome: Outcome
    order_id: int | None = None
    became_paid: bool = False  # True for the one call that made the order paid


_OUTCOME_OF_STATUS = {
    AttemptStatus.PENDING: Outcome.PENDING,
    AttemptStatus.FAILED: Outcome.FAILED,
    AttemptStatus.EXPIRED: Outcome.EXPIRED,
}


@dataclass(frozen=True)
class _AttemptAndOrder:
    attempt_id: int
    attempt_status: str
    checkout_reference: str
    order_id: int
    order_status: str
    order_number: str
    order_ref: str
    page_id: int | None
    total_minor: int
    currency: str
    attention_reason: str | None


async def check_sumup_status(
    session: AsyncSession, *, checkout_id: str, client_for: SumUpClients
) -> StatusCheck:
    """Fetch the checkout from SumUp and record what it says. Unknown ids are ignored.

    Raises SumUpError when SumUp cannot answer; nothing is changed then.
    """
    found = await _attempt_and_order(session, PaymentAttempt.sumup_checkout_id == checkout_id)
    if found is None:
        await session.commit()
        return StatusCheck(Outcome.UNKNOWN)
    if found.attempt_status == AttemptStatus.PAID:
        # Recorded already; SumUp never takes a payment back, so there is nothing to ask.
        await session.commit()
        return StatusCheck(_outcome_of_paid_attempt(found), order_id=found.order_id)
    account = await payment_settings_for(session, page_id=found.page_id, site=client_for.site)
    # No transaction stays open while SumUp is asked.
    await session.commit()
    checkout = await client_for(account).get_checkout(checkout_id)
    return await record_checkout(session, attempt_id=found.attempt_id, checkout=checkout)


async def record_checkout(
    session: AsyncSession, *, attempt_id: int, checkout: SumUpCheckout
) -> StatusCheck:
    """Record SumUp's answer about one of our attempts, in one transaction; commits."""
    found = await _attempt_and_order(session, PaymentAttempt.id == attempt_id)
    if found is None or checkout.checkout_reference != found.checkout_reference:
        # SumUp's answer is about some other checkout: record nothing.
        log.warning(
            "SumUp checkout %s does not belong to payment attempt %s; ignored",
            checkout.id,
            attempt_id,
        )
        await session.rollback()
        return StatusCheck(Outcome.UNKNOWN)
    if checkout.status == AttemptStatus.PAID:
        result = await _record_paid(session, found, checkout)
    else:
        now = utcnow()
        await session.execute(
            update(PaymentAttempt)
            .where(
                PaymentAttempt.id == found.attempt_id,
                PaymentAttempt.status.not_in(_FINAL_ATTEMPT_STATUSES),
            )
            .values(status=checkout.status, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if checkout.status == AttemptStatus.FAILED:
            # Kept when SumUp's status moves on (a closed FAILED checkout reads EXPIRED).
            await session.execute(
                update(PaymentAttempt)
                .where(PaymentAttempt.id == found.attempt_id, PaymentAttempt.declined_at.is_(None))
                .values(declined_at=now)
                .execution_options(synchronize_session=False)
            )
        result = StatusCheck(_OUTCOME_OF_STATUS[AttemptStatus(checkout.status)], found.order_id)
    await session.commit()
    return result


async def _record_paid(
    session: AsyncSession, found: _AttemptAndOrder, checkout: SumUpCheckout
) -> StatusCheck:
    now = utcnow()
    recorded = await session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == found.attempt_id, PaymentAttempt.status != AttemptStatus.PAID)
        .values(
            status=AttemptStatus.PAID,
            transaction_id=checkout.transaction_id,
            transaction_code=checkout.transaction_code,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if recorded.rowcount != 1:  # type: ignore[attr-defined]
        # Another caller recorded this payment first and did everything that follows; the
        # order is read again, as that caller left it.
        now_status = await session.scalar(select(Order.status).where(Order.id == found.order_id))
        outcome = Outcome.PAID if now_status == OrderStatus.PAID else Outcome.NEEDS_ATTENTION
        return StatusCheck(outcome, order_id=found.order_id)

    if (checkout.amount_minor, checkout.currency) != (found.total_minor, found.currency):
        await _flag(
            session,
            found,
            f"SumUp checkout {checkout.checkout_reference} was paid {checkout.amount_minor} "
            f"{checkout.currency} (minor units) but the order is {found.total_minor} "
            f"{found.currency}; not accepted as paid",
            code="amount_mismatch",
        )
        return StatusCheck(Outcome.NEEDS_ATTENTION, order_id=found.order_id)

    payment = PaymentFacts(checkout.checkout_reference, checkout.id, checkout.transaction_code)
    if await _mark_paid(session, found.order_id, was=OrderStatus.PENDING, now=now):
        order = await order_facts(session, found.order_id)
        assert order is not None  # orders are never deleted
        await complete_paid_order(session, order=order, paid_at=now, payment=payment)
        return StatusCheck(Outcome.PAID, order_id=found.order_id, became_paid=True)

    # Not pending any more. Locked now, so its status cannot change under what follows
    # (PostgreSQL; on SQLite this transaction holds the one write lock already).
    order = await order_facts(session, found.order_id, for_update=True)
    assert order is not None
    if order.status == OrderStatus.EXPIRED:
        return await _honour_late_payment(session, found, order, payment, now)
    # Paid twice (an earlier attempt paid it), or paid after the order was cancelled or
    # refunded: the money is there, so a person must refund or restore it.
    await _flag(
        session,
        found,
        f"SumUp checkout {checkout.checkout_reference} was paid while the order was "
        f"{order.status}; refund it or restore the order",
        code=f"paid_while_{order.status}",
    )
    return StatusCheck(Outcome.NEEDS_ATTENTION, order_id=found.order_id)


async def _honour_late_payment(
    session: AsyncSession,
    found: _AttemptAndOrder,
    order: OrderFacts,
    payment: PaymentFacts,
    now: datetime,
) -> StatusCheck:
    """A payment that landed after the order expired: its lines and bookings, handed back to
    the cart at expiry, are taken again and the order becomes paid; if one cannot be (a slot
    sold out meanwhile, or something ordered again or removed by the shopper since), the
    payment is flagged for a refund and nothing else changes."""
    owner = Owner(user_id=order.user_id, session_id=order.session_id)
    # Lines before bookings, the order in which checkout takes them.
    lines = await plan_take_back(session, owner=owner, order_id=order.id, page_id=order.page_id)
    if lines.missing is not None:
        await _flag(
            session,
            found,
            f"SumUp checkout {payment.checkout_reference} was paid after the order expired, "
            f"and the cart no longer holds {lines.missing} (removed or ordered again); "
            "refund it",
            code="paid_after_expiry_not_in_cart",
        )
        return StatusCheck(Outcome.NEEDS_ATTENTION, order_id=found.order_id)
    entry_ids = list(
        await session.scalars(
            select(OrderItem.calendar_entry_id).where(
                OrderItem.order_id == order.id,
                OrderItem.kind == OrderItemKind.BOOKING,
                OrderItem.calendar_entry_id.is_not(None),
            )
        )
    )
    try:
        # All or none: a refused claim hands back what it took (the calendar's contract).
        await services.calendar.claim_entries_for_order(
            session, owner, [e for e in entry_ids if e is not None], order.id
        )
    except BookingError as refused:
        await _flag(
            session,
            found,
            f"SumUp checkout {payment.checkout_reference} was paid after the order expired, "
            f"and its booking {refused.slot_title or refused.entry_id} could not be taken "
            f"again ({refused.code}); refund it",
            code="paid_after_expiry_not_bookable",
        )
        return StatusCheck(Outcome.NEEDS_ATTENTION, order_id=found.order_id)
    if not await _mark_paid(session, order.id, was=OrderStatus.EXPIRED, now=now):
        # The row is locked by this transaction since it was read as expired.
        raise RuntimeError(f"order {order.id} stopped being expired while locked")
    await take_back(session, lines)
    await complete_paid_order(session, order=order, paid_at=now, payment=payment, after_expiry=True)
    return StatusCheck(Outcome.PAID, order_id=found.order_id, became_paid=True)


async def _mark_paid(
    session: AsyncSession, order_id: int, *, was: OrderStatus, now: datetime
) -> bool:
    """ONE conditional UPDATE `was` -> paid; True for the one caller whose update took."""
    won = await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == was)
        .values(status=OrderStatus.PAID, paid_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(won.rowcount == 1)  # type: ignore[attr-defined]


async def _flag(session: AsyncSession, found: _AttemptAndOrder, reason: str, *, code: str) -> None:
    """Set the order's attention reason (the first one stays), log it for the operator and,
    the first time, tell other services (order.payment_flagged)."""
    log.warning("order %s needs attention: %s", found.order_number, reason)
    now = utcnow()
    flagged = await session.execute(
        update(Order)
        .where(Order.id == found.order_id, Order.attention_reason.is_(None))
        .values(attention_reason=reason[:ATTENTION_LENGTH], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if flagged.rowcount == 1:  # type: ignore[attr-defined]
        order = await order_facts(session, found.order_id)
        assert order is not None
        emit_order_event(
            session,
            ORDER_PAYMENT_FLAGGED,
            order,
            status=order.status,
            occurred_at=now,
            reason=code,
            checkout_reference=found.checkout_reference,
        )


def _outcome_of_paid_attempt(found: _AttemptAndOrder) -> Outcome:
    return Outcome.PAID if found.order_status == OrderStatus.PAID else Outcome.NEEDS_ATTENTION


async def _attempt_and_order(session: AsyncSession, condition: object) -> _AttemptAndOrder | None:
    # Plain columns, read fresh: never an answer from rows this session loaded earlier.
    row = (
        await session.execute(
            select(
                PaymentAttempt.id,
                PaymentAttempt.status,
                PaymentAttempt.checkout_reference,
                Order.id,
                Order.status,
                Order.number,
                Order.public_ref,
                Order.page_id,
                Order.total_minor,
                Order.currency,
                Order.attention_reason,
            )
            .join(Order, Order.id == PaymentAttempt.order_id)
            .where(condition)  # type: ignore[arg-type]
        )
    ).one_or_none()
    return None if row is None else _AttemptAndOrder(*row)
