"""Before an unpaid order is closed (expired, cancelled), its checkouts at SumUp are closed.

Otherwise the shopper could still pay a checkout of a closed order. No transaction stays
open while SumUp is asked: the attempts are read and committed, then each open checkout is
deactivated, then SumUp's answer is recorded (record_checkout) in a transaction of its own.
A checkout that turns out to be paid (409 CHECKOUT_PROCESSED) is recorded as paid, which
pays the order: the caller then finds it no longer pending and leaves it be.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.check_sumup_status import Outcome, record_checkout
from bp.cart.services.payment_settings import SumUpClients, payment_settings_for
from models.order import Order
from models.payment_attempt import AttemptStatus, PaymentAttempt
from shared.models import utcnow
from sumup.client import SumUpCheckout, SumUpClient
from sumup.errors import CheckoutProcessed, SumUpNotFound

log = logging.getLogger(__name__)

# The attempts SumUp may still take a payment for (FAILED ones can be paid again).
OPEN_ATTEMPT_STATUSES = (AttemptStatus.CREATING, AttemptStatus.PENDING, AttemptStatus.FAILED)


async def close_open_checkouts(
    session: AsyncSession, *, order_id: int, client_for: SumUpClients
) -> bool:
    """Deactivate the order's open checkouts at SumUp; True if one was found paid.

    Raises SumUpError (or ConfigError) when SumUp cannot be asked: the order must then stay
    as it is, since a checkout may still be open.
    """
    page_id = await session.scalar(select(Order.page_id).where(Order.id == order_id))
    account = await payment_settings_for(session, page_id=page_id, site=client_for.site)
    attempts = (
        await session.execute(
            select(
                PaymentAttempt.id,
                PaymentAttempt.checkout_reference,
                PaymentAttempt.sumup_checkout_id,
                PaymentAttempt.merchant_code,
            )
            .where(
                PaymentAttempt.order_id == order_id,
                PaymentAttempt.status.in_(OPEN_ATTEMPT_STATUSES),
            )
            .order_by(PaymentAttempt.id)
        )
    ).all()
    await session.commit()
    if not attempts:
        return False
    client = client_for(account)
    found_paid = False
    for attempt_id, reference, checkout_id, merchant_code in attempts:
        if checkout_id is None:
            # CREATING: SumUp's answer to the create was lost, or the create never arrived.
            made = await client.find_checkout_by_reference(reference, merchant_code=merchant_code)
            if made is None:
                continue
            await _record_checkout_id(session, attempt_id=attempt_id, checkout_id=made.id)
            checkout_id = made.id
        closed = await _deactivate(client, checkout_id)
        if closed is None:
            continue
        result = await record_checkout(session, attempt_id=attempt_id, checkout=closed)
        if result.outcome in (Outcome.PAID, Outcome.NEEDS_ATTENTION):
            log.info("order %s: checkout %s was paid; recorded", order_id, reference)
            found_paid = True
    return found_paid


async def _deactivate(client: SumUpClient, checkout_id: str) -> SumUpCheckout | None:
    try:
        return await client.deactivate_checkout(checkout_id)
    except CheckoutProcessed:
        return await client.get_checkout(checkout_id)  # paid: that is what gets recorded
    except SumUpNotFound:
        return None  # SumUp has no such checkout: nothing to close


async def _record_checkout_id(session: AsyncSession, *, attempt_id: int, checkout_id: str) -> None:
    await session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id, PaymentAttempt.sumup_checkout_id.is_(None))
        .values(sumup_checkout_id=checkout_id, status=AttemptStatus.PENDING, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
