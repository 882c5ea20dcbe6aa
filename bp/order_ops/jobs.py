"""The order jobs, one round: reconcile payments, then expire what is still unpaid.

Reconciliation goes first, so an order paid at SumUp whose webhook was lost is found paid
before expiry would look at it (expiry would find the payment too, when it deactivates the
checkout, but the order's bookings need not go through a release first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bp.cart.services.payment_settings import SumUpClients
from bp.order_ops.expire import ExpiryRound, expire_unpaid_orders
from bp.order_ops.reconcile import ReconcileRound, reconcile_payments
from shared.config import Settings
from shared.errors import database_unreachable, describe
from shared.models import utcnow

log = logging.getLogger("cart.jobs")

INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class JobsRound:
    reconciled: ReconcileRound
    expired: ExpiryRound


async def reconcile_round(
    sessionmaker: async_sessionmaker[AsyncSession],
    client_for: SumUpClients,
    settings: Settings,
    *,
    now: datetime,
) -> ReconcileRound:
    async with sessionmaker() as session:
        return await reconcile_payments(
            session,
            client_for=client_for,
            now=now,
            after=timedelta(minutes=settings.order_reconcile_after_minutes),
        )


async def expiry_round(
    sessionmaker: async_sessionmaker[AsyncSession],
    client_for: SumUpClients,
    settings: Settings,
    *,
    now: datetime,
) -> ExpiryRound:
    async with sessionmaker() as session:
        return await expire_unpaid_orders(
            session,
            client_for=client_for,
            now=now,
            after=timedelta(minutes=settings.order_expire_after_minutes),
        )


async def run_jobs_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    client_for: SumUpClients,
    settings: Settings,
    *,
    now: datetime,
) -> JobsRound:
    reconciled = await reconcile_round(sessionmaker, client_for, settings, now=now)
    expired = await expiry_round(sessionmaker, client_for, settings, now=now)
    return JobsRound(reconciled, expired)


async def run_jobs_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    client_for: SumUpClients,
    settings: Settings,
    *,
    stop: asyncio.Event,
    interval: float = INTERVAL_SECONDS,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """A round every `interval` seconds until `stop` is set. A failing round is logged and
    the next one comes anyway: a database or SumUp hiccup must not end the jobs."""
    while not stop.is_set():
        try:
            await run_jobs_once(sessionmaker, client_for, settings, now=clock())
        except Exception as error:
            if database_unreachable(error):  # one line: an outage is no bug to trace
                log.warning(
                    "order jobs round failed, database unreachable: %s; trying again in %gs",
                    describe(error),
                    interval,
                )
            else:
                log.exception("order jobs round failed; trying again in %gs", interval)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
