"""Reconciliation: payments whose news never came are asked about at SumUp.

SumUp's webhook can be lost and a shopper may never come back to the return page; then an
order paid at SumUp would stay pending here. Every unpaid order's open attempt that has not
been heard of for `after` (settings.order_reconcile_after_minutes) is checked with SumUp:
check_sumup_status for a checkout we know, a search by our checkout reference for one whose
create answer was lost (CREATING). Recording an answer touches the attempt's updated_at, so
each attempt is asked about at most once per `after`, not every round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.check_sumup_status import (
    Outcome,
    StatusCheck,
    check_sumup_status,
    record_checkout,
)
from bp.cart.services.payment_settings import SumUpClients, payment_settings_for
from bp.order_ops.close_checkouts import OPEN_ATTEMPT_STATUSES
from models.order import Order, OrderStatus
from models.payment_attempt import AttemptStatus, PaymentAttempt
from shared.config import ConfigError
from shared.models import utcnow
from sumup.errors import SumUpError

log = logging.getLogger(__name__)

BATCH = 100


@dataclass(frozen=True)
class _Stale:
    attempt_id: int
    order_id: int
    page_id: int | None
    number: str
    checkout_reference: str
    sumup_checkout_id: str | None
    merchant_code: str


@dataclass(frozen=True)
class ReconcileRound:
    checked: int
    paid: tuple[str, ...]  # order numbers that became paid in this round
    unreachable: int  # attempts SumUp could not be asked about


async def reconcile_payments(
    session: AsyncSession, *, client_for: SumUpClients, now: datetime, after: timedelta
) -> ReconcileRound:
    stale = [
        _Stale(*row)
        for row in await session.execute(
            select(
                PaymentAttempt.id,
                Order.id,
                Order.page_id,
                Order.number,
                PaymentAttempt.checkout_reference,
                PaymentAttempt.sumup_checkout_id,
                PaymentAttempt.merchant_code,
            )
            .join(Order, Order.id == PaymentAttempt.order_id)
            .where(
                Order.status == OrderStatus.PENDING,
                PaymentAttempt.status.in_(OPEN_ATTEMPT_STATUSES),
                PaymentAttempt.updated_at < now - after,
            )
            .order_by(PaymentAttempt.id)
            .limit(BATCH)
        )
    ]
    await session.commit()
    paid: list[str] = []
    unreachable = 0
    for attempt in stale:
        try:
            result = await _check(session, attempt, client_for)
        except (SumUpError, ConfigError) as error:
            await session.rollback()
            log.warning("reconcile %s: SumUp could not be asked: %s", attempt.number, error)
            unreachable += 1
            continue
        if result.became_paid:
            log.info("reconcile: order %s was paid at SumUp; recorded", attempt.number)
            paid.append(attempt.number)
    return ReconcileRound(checked=len(stale), paid=tuple(paid), unreachable=unreachable)


async def _check(session: AsyncSession, attempt: _Stale, client_for: SumUpClients) -> StatusCheck:
    if attempt.sumup_checkout_id is not None:
        return await check_sumup_status(
            session, checkout_id=attempt.sumup_checkout_id, client_for=client_for
        )
    account = await payment_settings_for(session, page_id=attempt.page_id, site=client_for.site)
    await session.commit()
    checkout = await client_for(account).find_checkout_by_reference(
        attempt.checkout_reference, merchant_code=attempt.merchant_code
    )
    if checkout is None:
        # The create never reached SumUp: nothing can have been paid. Pay again retries it
        # and expiry closes the order; touched so it is not asked about every round.
        await _touch(session, attempt.attempt_id)
        return StatusCheck(Outcome.PENDING, order_id=attempt.order_id)
    await session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt.attempt_id, PaymentAttempt.sumup_checkout_id.is_(None))
        .values(
            sumup_checkout_id=checkout.id,
            hosted_checkout_url=checkout.hosted_checkout_url,
            status=AttemptStatus.PENDING,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return await record_checkout(session, attempt_id=attempt.attempt_id, checkout=checkout)


async def _touch(session: AsyncSession, attempt_id: int) -> None:
    await session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
