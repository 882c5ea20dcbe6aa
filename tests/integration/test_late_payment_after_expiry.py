"""A payment that lands after its order expired is honoured: the order becomes paid if its
bookings can be claimed again, else it is flagged for a refund (and says why)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.check_sumup_status import Outcome, check_sumup_status
from bp.cart.services.checkout import create_order_from_cart
from bp.order_ops.expire import Expiry, expire_unpaid_orders
from models import CartItem
from services import register_domain_services
from shared.models import utcnow
from tests.contract.calendar_data import entry_for
from tests.factories import Factory
from tests.integration.checkout_data import ANON, OTHER_ANON, seen
from tests.integration.order_ops_data import ClosableFakeSumUp, minutes_from_now, payloads
from tests.integration.payment_data import (
    PAID,
    entry_state,
    live_line_ids,
    pending_attempt,
    placed_bakery_order,
    stored_order,
)


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


async def _expired(db: AsyncSession, factory: Factory, *, places: int = 10):  # type: ignore[no-untyped-def]
    """The bakery order, its checkout at the fake, expired by the job."""
    placed = await placed_bakery_order(db, factory, places=places)
    fake = ClosableFakeSumUp()
    await pending_attempt(db, placed, fake)
    done = await expire_unpaid_orders(
        db, client_for=fake, now=minutes_from_now(31), after=timedelta(minutes=30)
    )
    assert done.numbers(Expiry.EXPIRED) == [placed.number]
    assert fake.deactivated == ["chk-1"]
    # SumUp took the payment all the same (a checkout a racing Pay again made, say).
    fake.set("chk-1", **PAID)
    return placed, fake


async def test_late_payment_with_the_booking_still_free_makes_the_order_paid(
    db: AsyncSession, factory: Factory
) -> None:
    placed, fake = await _expired(db, factory)
    assert await entry_state(db, placed.cart.entry_id) == "pending"

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.PAID and result.became_paid
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    assert await live_line_ids(db) == set()  # the order's lines left the cart
    [paid] = await payloads(db, "order.paid")
    assert (paid["order_ref"], paid["after_expiry"], paid["status"]) == (
        placed.public_ref,
        True,
        "paid",
    )
    assert await payloads(db, "order.payment_flagged") == []
    again = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)
    assert again.outcome == Outcome.PAID and not again.became_paid
    assert len(await payloads(db, "order.paid")) == 1


async def test_late_payment_after_the_last_place_went_to_someone_else_is_flagged_for_refund(
    db: AsyncSession, factory: Factory
) -> None:
    placed, fake = await _expired(db, factory, places=1)
    # Meanwhile another shopper books and orders the class's only place.
    other_entry = await entry_for(factory, OTHER_ANON, slot_id=placed.cart.slot_id)
    other = await create_order_from_cart(
        db,
        owner=OTHER_ANON,
        page_id=placed.cart.page_id,
        **await seen(db, OTHER_ANON, placed.cart.page_id),
    )
    other_id = other.id

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.NEEDS_ATTENTION
    stored = await stored_order(db, placed.order_id)
    assert (stored.status, stored.paid) == ("expired", False)
    assert stored.attention_reason and "Baking class" in stored.attention_reason
    assert "refund" in stored.attention_reason
    assert await entry_state(db, placed.cart.entry_id) == "pending"  # not squeezed in
    assert await entry_state(db, other_entry) == "ordered"
    assert (await stored_order(db, other_id)).status == "pending"
    [flagged] = await payloads(db, "order.payment_flagged")
    assert (flagged["order_ref"], flagged["reason"], flagged["status"]) == (
        placed.public_ref,
        "paid_after_expiry_not_bookable",
        "expired",
    )
    assert await payloads(db, "order.paid") == []


async def test_late_payment_after_the_shopper_ordered_the_booking_again_is_flagged(
    db: AsyncSession, factory: Factory
) -> None:
    placed, fake = await _expired(db, factory)
    second = await create_order_from_cart(
        db, owner=ANON, page_id=placed.cart.page_id, **await seen(db, ANON, placed.cart.page_id)
    )
    second_id = second.id

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.NEEDS_ATTENTION
    assert (await stored_order(db, placed.order_id)).status == "expired"
    assert (await stored_order(db, second_id)).status == "pending"
    assert await entry_state(db, placed.cart.entry_id) == "ordered"  # the second order's
    [flagged] = await payloads(db, "order.payment_flagged")
    # The second order holds the lines as well as the booking; lines are looked at first.
    assert flagged["reason"] == "paid_after_expiry_not_in_cart"


async def test_expiry_hands_the_lines_back_and_a_late_payment_takes_them_out_again(
    db: AsyncSession, factory: Factory
) -> None:
    placed, fake = await _expired(db, factory)
    # Free again (held by no order): the shopper can change them or check them out anew.
    assert await live_quantities(db, held=True) == {}
    assert await live_quantities(db) == {placed.cart.bread_id: 2, placed.cart.jam_id: 1}

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.became_paid
    assert await live_quantities(db) == {}


async def test_late_payment_after_the_shopper_removed_a_product_is_flagged_and_changes_nothing(
    db: AsyncSession, factory: Factory
) -> None:
    placed, fake = await _expired(db, factory)
    await db.execute(
        update(CartItem)
        .where(CartItem.product_id == placed.cart.jam_id)
        .values(deleted_at=utcnow())
    )
    await db.commit()

    result = await check_sumup_status(db, checkout_id="chk-1", client_for=fake)

    assert result.outcome == Outcome.NEEDS_ATTENTION
    stored = await stored_order(db, placed.order_id)
    assert (stored.status, stored.paid) == ("expired", False)
    assert stored.attention_reason and "no longer holds Jam" in stored.attention_reason
    [flagged] = await payloads(db, "order.payment_flagged")
    assert flagged["reason"] == "paid_after_expiry_not_in_cart"
    # Nothing else moved: the bread is still in the cart, the booking still pending.
    assert await live_quantities(db) == {placed.cart.bread_id: 2}
    assert await entry_state(db, placed.cart.entry_id) == "pending"
    assert await payloads(db, "order.paid") == []


async def live_quantities(db: AsyncSession, *, held: bool = False) -> dict[int, int]:
    """Product -> quantity of the live lines (only those held by an order, with `held`)."""
    await db.rollback()
    query = select(CartItem.product_id, CartItem.quantity).where(CartItem.deleted_at.is_(None))
    if held:
        query = query.where(CartItem.order_id.is_not(None))
    rows = await db.execute(query)
    return {product_id: quantity for product_id, quantity in rows.all()}
