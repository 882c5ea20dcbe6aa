"""check_sumup_status(): SumUp's answer recorded; an order paid once, or flagged, never half."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.check_sumup_status import Outcome, check_sumup_status
from models import Order, PageConfig
from services import register_domain_services
from sumup.errors import SumUpUnavailable
from tests.factories import Factory
from tests.integration.payment_data import (
    BAKERY_TOTAL,
    PAID,
    FakeSumUp,
    attempts_of,
    entry_state,
    live_line_ids,
    paid_events,
    pending_attempt,
    placed_bakery_order,
    stored_order,
)


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


@pytest.fixture
def fake() -> FakeSumUp:
    return FakeSumUp()


async def test_check_sumup_status_paid_confirms_bookings_clears_cart_and_emits_once(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", **PAID)

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.PAID and result.became_paid
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    assert await live_line_ids(db) == set()  # both bakery lines were in the order
    [event] = await paid_events(db)
    assert event["order_ref"] == placed.public_ref
    assert event["number"] == placed.number
    assert (event["total_minor"], event["currency"]) == (BAKERY_TOTAL, "GBP")
    assert event["transaction_code"] == "TC0001"
    assert await attempts_of(db, placed.order_id) == [
        (f"coop-{placed.public_ref}-1", "PAID", "chk-1")
    ]


async def test_check_sumup_status_again_after_paid_changes_nothing_and_asks_nobody(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", **PAID)
    await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    again = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert again.outcome == Outcome.PAID and not again.became_paid
    assert fake.calls == 1  # a recorded payment is final: SumUp is not asked again
    assert len(await paid_events(db)) == 1


async def test_check_sumup_status_pending_records_nothing_new(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.PENDING
    assert await stored_order(db, placed.order_id) == ("pending", False, None)
    assert await entry_state(db, placed.cart.entry_id) == "ordered"
    assert await live_line_ids(db) == {placed.cart.bread_line, placed.cart.jam_line}
    assert await paid_events(db) == []


@pytest.mark.parametrize("status", ["FAILED", "EXPIRED"])
async def test_check_sumup_status_failed_or_expired_is_recorded_and_order_stays_pending(
    db: AsyncSession, factory: Factory, fake: FakeSumUp, status: str
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", status=status)

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == status.lower()
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == [status]
    assert await stored_order(db, placed.order_id) == ("pending", False, None)
    assert await entry_state(db, placed.cart.entry_id) == "ordered"
    assert await paid_events(db) == []


async def test_check_sumup_status_late_pending_answer_does_not_undo_expired(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", status="EXPIRED")
    await check_sumup_status(db, checkout_id="chk-1", client_for=fake)
    fake.set("chk-1", status="PENDING")  # an answer about an earlier moment, arriving late

    await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["EXPIRED"]


async def test_check_sumup_status_unknown_checkout_is_ignored_without_asking_sumup(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)

    result = await check_sumup_status(db, checkout_id="not-ours", client_for=fake)

    assert result.outcome == Outcome.UNKNOWN
    assert fake.calls == 0
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


@pytest.mark.parametrize(
    ("paid_minor", "paid_currency"), [(BAKERY_TOTAL - 100, "GBP"), (BAKERY_TOTAL, "EUR")]
)
async def test_check_sumup_status_amount_mismatch_is_not_paid_but_flagged_and_logged(
    db: AsyncSession,
    factory: Factory,
    fake: FakeSumUp,
    caplog: pytest.LogCaptureFixture,
    paid_minor: int,
    paid_currency: str,
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", amount_minor=paid_minor, currency=paid_currency, **PAID)

    with caplog.at_level(logging.WARNING):
        result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.NEEDS_ATTENTION and not result.became_paid
    stored = await stored_order(db, placed.order_id)
    assert (stored.status, stored.paid) == ("pending", False)
    assert stored.attention_reason and "not accepted as paid" in stored.attention_reason
    assert f"{paid_minor} {paid_currency}" in stored.attention_reason
    assert placed.number in caplog.text and "needs attention" in caplog.text
    assert await entry_state(db, placed.cart.entry_id) == "ordered"
    assert await live_line_ids(db) == {placed.cart.bread_line, placed.cart.jam_line}
    assert await paid_events(db) == []

    # Asked again (a webhook retry): still not paid, the first reason kept.
    again = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)
    assert again.outcome == Outcome.NEEDS_ATTENTION
    assert (await stored_order(db, placed.order_id)).attention_reason == stored.attention_reason


async def test_check_sumup_status_second_paid_checkout_of_a_paid_order_is_flagged(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", **PAID)
    await check_sumup_status(db, checkout_id="chk-1", client_for=fake)
    await pending_attempt(db, placed, fake, checkout_id="chk-2", number=2)
    fake.set("chk-2", **PAID)  # a second checkout of the same order, paid too

    result = await check_sumup_status(db, checkout_id="chk-2", client_for=fake)

    assert result.outcome == Outcome.NEEDS_ATTENTION
    stored = await stored_order(db, placed.order_id)
    assert stored.status == "paid"
    assert stored.attention_reason and "while the order was paid" in stored.attention_reason
    assert len(await paid_events(db)) == 1


async def test_check_sumup_status_answer_about_another_reference_is_ignored(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", checkout_reference="someone-elses-reference", **PAID)

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.UNKNOWN
    assert await stored_order(db, placed.order_id) == ("pending", False, None)
    assert await paid_events(db) == []


async def test_check_sumup_status_sumup_down_raises_and_changes_nothing(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    await pending_attempt(db, placed, fake)
    fake.down = True

    with pytest.raises(SumUpUnavailable):
        await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["PENDING"]
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_check_sumup_status_uses_the_pages_own_sumup_account(
    db: AsyncSession, factory: Factory, fake: FakeSumUp
) -> None:
    placed = await placed_bakery_order(db, factory)
    db.add(
        PageConfig(
            page_id=placed.cart.page_id,
            sumup_merchant_code="MBAKERY",
            sumup_api_key_ref="BAKERY_SUMUP_KEY",
        )
    )
    await db.commit()
    await pending_attempt(db, placed, fake)

    await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    [account] = fake.accounts
    assert (account.merchant_code, account.api_key_ref) == ("MBAKERY", "BAKERY_SUMUP_KEY")
    assert (account.currency, account.checkout_reference_prefix) == ("GBP", "coop")


async def test_order_fixture_is_what_the_tests_think(db: AsyncSession, factory: Factory) -> None:
    placed = await placed_bakery_order(db, factory)
    total = await db.scalar(select(Order.total_minor).where(Order.id == placed.order_id))
    assert total == BAKERY_TOTAL
