"""remove_booking() against the database, and the sold-out way out through the services:
checkout refused naming the slot, the booking removed, the rest of the cart checked out."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.checkout import create_order_from_cart
from bp.cart.services.checkout_errors import CheckoutError
from bp.cart.services.errors import CartError
from bp.cart.services.load import load_page_cart
from bp.cart.services.remove_booking import remove_booking
from bp.cart.services.totals import page_section
from models import Order
from services import register_domain_services
from shared.interfaces import Owner
from tests.contract.calendar_data import entry_for, stored_entries
from tests.factories import Factory
from tests.integration.checkout_data import (
    ANON,
    OTHER_ANON,
    bakery_cart,
    count_rows,
    seen,
    stored_items,
)


@pytest.fixture(autouse=True)
def _services() -> None:
    register_domain_services()


async def test_remove_booking_cancels_and_commits_and_names_the_slot(
    factory: Factory, db: AsyncSession
) -> None:
    cart = await bakery_cart(factory)

    removed = await remove_booking(db, owner=ANON, entry_id=cart.entry_id)

    assert (removed.id, removed.title, removed.state) == (
        cart.entry_id,
        "Baking class",
        "cancelled",
    )
    await db.rollback()  # committed by the use case: a rollback now keeps it
    assert (await stored_entries(db, cart.entry_id))[cart.entry_id].state == "cancelled"
    _, loaded = await load_page_cart(db, owner=ANON, page_slug="bakery")
    assert loaded.booking_lines == ()


@pytest.mark.parametrize(
    "case", ["no owner", "another shopper", "ordered", "confirmed", "twice", "unknown id"]
)
async def test_remove_booking_refuses_what_is_not_the_shoppers_pending_booking(
    factory: Factory, db: AsyncSession, case: str
) -> None:
    cart = await bakery_cart(factory)
    owner: Owner | None = ANON
    entry_id = cart.entry_id
    if case == "no owner":
        owner = None
    elif case == "another shopper":
        owner = OTHER_ANON
    elif case in ("ordered", "confirmed"):
        entry_id = await entry_for(factory, ANON, slot_id=cart.slot_id, state=case, order_id=5)
    elif case == "twice":
        await remove_booking(db, owner=ANON, entry_id=entry_id)
    else:
        entry_id += 1000
    before = await stored_entries(db, cart.entry_id, entry_id)

    with pytest.raises(CartError) as refused:
        await remove_booking(db, owner=owner, entry_id=entry_id)

    assert (refused.value.code, refused.value.status) == ("booking_unknown", 404)
    await db.rollback()
    assert await stored_entries(db, cart.entry_id, entry_id) == before


async def test_a_sold_out_booking_blocks_checkout_until_it_is_removed(
    factory: Factory, db: AsyncSession
) -> None:
    cart = await bakery_cart(factory, places=1)
    # Another shopper's order took the one place after our cart was shown.
    form = await seen(db, ANON, cart.page_id)
    await entry_for(factory, OTHER_ANON, slot_id=cart.slot_id, state="ordered", order_id=77)

    page, loaded = await load_page_cart(db, owner=ANON, page_slug="bakery")
    section = page_section(loaded, page)
    assert [b.sold_out for b in section.booking_lines] == [True] and section.has_sold_out
    for attempt in (form, await seen(db, ANON, cart.page_id)):
        with pytest.raises(CheckoutError) as refused:
            await create_order_from_cart(db, owner=ANON, page_id=cart.page_id, **attempt)
        assert (refused.value.code, refused.value.params) == (
            "slot_sold_out",
            {"slot": "Baking class"},
        )
    assert await count_rows(db, Order) == 0

    await remove_booking(db, owner=ANON, entry_id=cart.entry_id)
    order = await create_order_from_cart(
        db, owner=ANON, page_id=cart.page_id, **await seen(db, ANON, cart.page_id)
    )

    assert order.total_minor == 900
    assert [(item[0], item[3]) for item in await stored_items(db, order.id)] == [
        ("product", "Bread"),
        ("product", "Jam"),
    ]
    stored = (await stored_entries(db, cart.entry_id))[cart.entry_id]
    assert (stored.state, stored.order_id) == ("cancelled", None)
