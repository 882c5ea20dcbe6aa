"""For the order jobs and operator actions: a SumUp stand-in that can also close checkouts
and refund, the sandbox as the app's jobs reach it, and the events as stored."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bp.cart.services.payment_settings import SumUpClients
from shared.base_app import settings_of
from shared.db import make_sessionmaker
from shared.events import OutboxEvent
from shared.http_client import http_client_of
from shared.models import utcnow
from sumup.client import SumUpCheckout
from sumup.errors import CheckoutProcessed, SumUpRefundError
from tests.integration.payment_data import FakeSumUp


def minutes_from_now(minutes: float) -> datetime:
    """The jobs' `now`, that much later than the rows just written: time passes, no sleep."""
    return utcnow() + timedelta(minutes=minutes)


def sessionmaker_of(db: AsyncSession) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test's engine, as the jobs open them."""
    return make_sessionmaker(db.bind)  # type: ignore[arg-type]


def sandbox_clients(app: Any) -> SumUpClients:
    """What the app's background jobs use: SumUp's API served by the app's own sandbox."""
    return SumUpClients(http_client_of(app.app), settings_of(app.app))


async def payloads(db: AsyncSession, event_type: str) -> list[dict[str, Any]]:
    await db.rollback()
    return list(
        await db.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.event_type == event_type)
            .order_by(OutboxEvent.id)
        )
    )


class MeetOnce:
    """A gate for FakeSumUp: the first `parties` calls wait for each other, later ones pass
    (a caller that asks SumUp twice must not wait for a partner that never comes)."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.barrier = asyncio.Barrier(parties)
        self.calls = 0

    async def wait(self) -> None:
        self.calls += 1
        if self.calls <= self.parties:
            await self.barrier.wait()


class ClosableFakeSumUp(FakeSumUp):
    """FakeSumUp that deactivates checkouts (EXPIRED; a PAID one answers 409 as SumUp does),
    finds them by reference, and refunds (or refuses with `refusal`)."""

    def __init__(self) -> None:
        super().__init__()
        self.deactivated: list[str] = []
        self.refunds: list[tuple[str, str, int | None]] = []
        self.refusal: SumUpRefundError | None = None

    async def deactivate_checkout(self, checkout_id: str) -> SumUpCheckout:
        checkout = await self.get_checkout(checkout_id)
        if checkout.status == "PAID":
            raise CheckoutProcessed("CHECKOUT_PROCESSED", "Checkout is already processed", 409)
        self.deactivated.append(checkout_id)
        return self.set(checkout_id, status="EXPIRED")

    async def find_checkout_by_reference(
        self, reference: str, *, merchant_code: str | None = None
    ) -> SumUpCheckout | None:
        return next((c for c in self.checkouts.values() if c.checkout_reference == reference), None)

    async def refund_transaction(
        self, *, merchant_code: str, transaction_id: str, amount_minor: int | None, currency: str
    ) -> None:
        if self.refusal is not None:
            raise self.refusal
        self.refunds.append((merchant_code, transaction_id, amount_minor))
