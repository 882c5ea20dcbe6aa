"""Orders ready to pay, a SumUp stand-in for the status checks, and what was stored."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.checkout import create_order_from_cart
from bp.cart.services.payment_settings import PaymentSettings
from models import CartItem, Order, PaymentAttempt
from shared.config import SumUpSettings
from shared.events import OutboxEvent
from shared.interfaces import Owner
from shared.models import CalendarEntry
from sumup.client import SumUpCheckout
from sumup.errors import SumUpUnavailable
from tests.factories import Factory
from tests.integration.checkout_data import ANON, BakeryCart, bakery_cart, seen

BAKERY_TOTAL = 2 * 250 + 400 + 1500  # bread ×2, jam, one place in the baking class


@dataclass(frozen=True)
class PlacedBakery:
    cart: BakeryCart
    order_id: int
    number: str
    public_ref: str


async def placed_bakery_order(
    db: AsyncSession, factory: Factory, owner: Owner = ANON, *, places: int = 10
) -> PlacedBakery:
    """The bakery cart checked out by `owner` (create_order_from_cart), not yet paid."""
    cart = await bakery_cart(factory, owner, places=places)
    order = await create_order_from_cart(
        db, owner=owner, page_id=cart.page_id, **await seen(db, owner, cart.page_id)
    )
    return PlacedBakery(cart, order.id, order.number, order.public_ref)


class StoredOrder(NamedTuple):
    status: str
    paid: bool
    attention_reason: str | None


async def stored_order(db: AsyncSession, order_id: int) -> StoredOrder:
    await db.rollback()  # read what is committed now, not the session's cached rows
    row = (
        await db.execute(
            select(Order.status, Order.paid_at, Order.attention_reason).where(Order.id == order_id)
        )
    ).one()
    return StoredOrder(row.status, row.paid_at is not None, row.attention_reason)


async def attempts_of(db: AsyncSession, order_id: int) -> list[tuple[str, str, str | None]]:
    """(checkout reference, status, SumUp id) of the order's attempts, oldest first."""
    await db.rollback()
    rows = await db.execute(
        select(
            PaymentAttempt.checkout_reference,
            PaymentAttempt.status,
            PaymentAttempt.sumup_checkout_id,
        )
        .where(PaymentAttempt.order_id == order_id)
        .order_by(PaymentAttempt.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def paid_events(db: AsyncSession) -> list[dict[str, Any]]:
    await db.rollback()
    rows = await db.scalars(
        select(OutboxEvent.payload)
        .where(OutboxEvent.event_type == "order.paid")
        .order_by(OutboxEvent.id)
    )
    return list(rows)


async def entry_state(db: AsyncSession, entry_id: int) -> str:
    await db.rollback()
    return (
        await db.execute(select(CalendarEntry.state).where(CalendarEntry.id == entry_id))
    ).scalar_one()


async def live_line_ids(db: AsyncSession) -> set[int]:
    await db.rollback()
    rows = await db.scalars(select(CartItem.id).where(CartItem.deleted_at.is_(None)))
    return set(rows)


class FakeSumUp:
    """Answers get_checkout as SumUp would, from checkouts the test sets; counts the calls.

    `gate`, when set, holds every get_checkout until that many callers are waiting, so
    racing callers reach the database at the same moment.
    """

    def __init__(self, site: SumUpSettings | None = None) -> None:
        self.site = site or SumUpSettings()
        self.checkouts: dict[str, SumUpCheckout] = {}
        self.calls = 0
        self.accounts: list[PaymentSettings] = []
        self.gate: asyncio.Barrier | None = None
        self.down = False

    def __call__(self, account: PaymentSettings) -> FakeSumUp:
        self.accounts.append(account)
        return self

    def set(self, checkout_id: str, **changes: Any) -> SumUpCheckout:
        checkout = replace(self.checkouts[checkout_id], **changes)
        self.checkouts[checkout_id] = checkout
        return checkout

    async def get_checkout(self, checkout_id: str) -> SumUpCheckout:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise SumUpUnavailable("timeout", "no answer in time")
        return self.checkouts[checkout_id]


async def pending_attempt(
    db: AsyncSession,
    placed: PlacedBakery,
    fake: FakeSumUp,
    *,
    checkout_id: str = "chk-1",
    number: int = 1,
) -> SumUpCheckout:
    """An attempt of the order as start_payment leaves it: PENDING with a SumUp id; the fake
    knows the checkout, PENDING for the order's amount."""
    reference = f"coop-{placed.public_ref}-{number}"
    db.add(
        PaymentAttempt(
            order_id=placed.order_id,
            checkout_reference=reference,
            sumup_checkout_id=checkout_id,
            status="PENDING",
            merchant_code="MSANDBOX1",
            amount_minor=BAKERY_TOTAL,
            currency="GBP",
            hosted_checkout_url=f"https://pay.example/{checkout_id}",
        )
    )
    await db.commit()
    checkout = SumUpCheckout(
        id=checkout_id,
        checkout_reference=reference,
        amount_minor=BAKERY_TOTAL,
        currency="GBP",
        merchant_code="MSANDBOX1",
        status="PENDING",
        hosted_checkout_url=f"https://pay.example/{checkout_id}",
        transaction_id=None,
        transaction_code=None,
    )
    fake.checkouts[checkout_id] = checkout
    return checkout


class LosesTheFirstCreateAnswer(httpx.AsyncBaseTransport):
    """The first create reaches SumUp (the sandbox) and is made, but its answer is lost."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.creates = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/v0.1/checkouts"):
            self.creates += 1
            if self.creates == 1:
                await response.aread()
                raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


PAID = {"status": "PAID", "transaction_id": "tx-1", "transaction_code": "TC0001"}
