"""create_order_from_cart against the real database: what an order copies, stamps, claims
and emits, and every refusal leaving nothing written."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

import bp.cart.services.checkout as checkout
from bp.cart.services.checkout import create_order_from_cart, place_order
from bp.cart.services.checkout_errors import CheckoutError
from models import CartItem, Order, OrderItem
from services import register_domain_services
from shared.events import OutboxEvent
from shared.interfaces import Owner
from shared.models import CalendarSlot, Product
from tests.contract.calendar_data import StoredEntry, entry_for, stored_entries
from tests.factories import Factory
from tests.integration.checkout_data import (
    ANON,
    OTHER_ANON,
    BakeryCart,
    bakery_cart,
    count_rows,
    events_of,
    line_orders,
    seen,
    stored_items,
    stored_orders,
)


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


@pytest.fixture
async def bakery(factory: Factory) -> BakeryCart:
    return await bakery_cart(factory)


async def assert_nothing_written(db: AsyncSession, bakery: BakeryCart) -> None:
    assert await count_rows(db, Order) == 0
    assert await count_rows(db, OrderItem) == 0
    assert await count_rows(db, OutboxEvent) == 0
    assert set((await line_orders(db)).values()) == {None}
    assert (await stored_entries(db, bakery.entry_id))[bakery.entry_id].state == "pending"


async def test_a_page_cart_becomes_an_order_with_copies_of_its_lines_and_booking(
    db: AsyncSession, bakery: BakeryCart
) -> None:
    form = await seen(db, ANON, bakery.page_id)

    order = await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)
    # The returned order carries its items, as the payment step needs them.
    assert [item.title for item in order.items][:2] == ["Bread", "Jam"]

    [stored] = await stored_orders(db)
    assert stored.id == order.id
    assert re.fullmatch(r"[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}", stored.number)
    assert len(stored.public_ref) >= 22
    assert (stored.status, stored.currency, stored.total_minor) == ("pending", "GBP", 2400)
    assert (stored.page_id, stored.session_id, stored.user_id) == (
        bakery.page_id,
        ANON.session_id,
        None,
    )
    assert stored.idempotency_key == form["idempotency_key"]
    assert await stored_items(db, order.id) == [
        ("product", bakery.bread_id, None, "Bread", 250, 2, 500, "GBP"),
        ("product", bakery.jam_id, None, "Jam", 400, 1, 400, "GBP"),
        (
            "booking",
            None,
            bakery.entry_id,
            "Baking class, Sat 4 May 2030, 11:00–14:00 BST",
            1500,
            1,
            1500,
            "GBP",
        ),
    ]
    assert await line_orders(db) == {bakery.bread_line: order.id, bakery.jam_line: order.id}
    stored_entry = (await stored_entries(db, bakery.entry_id))[bakery.entry_id]
    assert stored_entry == StoredEntry("ordered", order.id, None, ANON.session_id)


async def test_order_created_is_in_the_outbox_with_the_order_and_nothing_of_the_browser(
    db: AsyncSession, bakery: BakeryCart
) -> None:
    order = await create_order_from_cart(
        db, owner=ANON, page_id=bakery.page_id, **await seen(db, ANON, bakery.page_id)
    )

    [event] = await events_of(db, "order.created")
    assert event.aggregate_id == order.public_ref
    payload = event.payload
    assert {
        k: payload[k] for k in ("order_ref", "number", "page_id", "currency", "total_minor")
    } == {
        "order_ref": order.public_ref,
        "number": order.number,
        "page_id": bakery.page_id,
        "currency": "GBP",
        "total_minor": 2400,
    }
    assert [(i["kind"], i["title"], i["line_total_minor"]) for i in payload["items"]] == [
        ("product", "Bread", 500),
        ("product", "Jam", 400),
        ("booking", "Baking class, Sat 4 May 2030, 11:00–14:00 BST", 1500),
    ]
    assert payload["status"] == "pending"
    assert datetime.fromisoformat(payload["occurred_at"]) == order.created_at
    # The anonymous id is a credential of the browser; the form's key, a one-time secret.
    assert ANON.session_id not in str(payload)
    assert order.idempotency_key not in str(payload)


async def test_the_site_level_cart_is_ordered_on_its_own(
    db: AsyncSession, factory: Factory, bakery: BakeryCart
) -> None:
    mug = (await factory.product(page_id=None, title="Co-op mug", price_minor=800)).id
    mug_line = (await factory.cart_item(product_id=mug, session_id=ANON.session_id, quantity=3)).id

    order = await create_order_from_cart(db, owner=ANON, page_id=None, **await seen(db, ANON, None))

    assert (order.page_id, order.total_minor) == (None, 2400)
    assert await stored_items(db, order.id) == [
        ("product", mug, None, "Co-op mug", 800, 3, 2400, "GBP")
    ]
    # The bakery's cart is another shop's, untouched.
    assert await line_orders(db) == {
        bakery.bread_line: None,
        bakery.jam_line: None,
        mug_line: order.id,
    }
    assert (await stored_entries(db, bakery.entry_id))[bakery.entry_id].state == "pending"


async def test_a_signed_in_users_order_is_theirs(db: AsyncSession, factory: Factory) -> None:
    user = Owner(user_id=(await factory.user()).id)
    cart = await bakery_cart(factory, user)

    order = await create_order_from_cart(
        db, owner=user, page_id=cart.page_id, **await seen(db, user, cart.page_id)
    )

    [stored] = await stored_orders(db)
    assert (stored.id, stored.user_id, stored.session_id) == (order.id, user.user_id, None)
    assert (await stored_entries(db, cart.entry_id))[cart.entry_id].order_id == order.id


async def test_the_same_form_twice_gives_the_same_order_and_writes_nothing_more(
    db: AsyncSession, bakery: BakeryCart
) -> None:
    form = await seen(db, ANON, bakery.page_id)
    first = await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)
    first_id = first.id

    again = await place_order(db, owner=ANON, page_id=bakery.page_id, **form)

    assert (again.order.id, again.created) == (first_id, False)
    assert [item.title for item in again.order.items][:2] == ["Bread", "Jam"]
    assert await count_rows(db, Order) == 1
    assert len(await events_of(db, "order.created")) == 1


@pytest.mark.parametrize("who", ["another shopper", "another page"])
async def test_a_forms_key_used_by_another_shopper_or_page_is_refused(
    db: AsyncSession, factory: Factory, bakery: BakeryCart, who: str
) -> None:
    form = await seen(db, ANON, bakery.page_id)
    await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)
    owner, page_id = (OTHER_ANON, bakery.page_id) if who == "another shopper" else (ANON, None)

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=owner, page_id=page_id, **form)

    assert refused.value.code == "form_expired"
    assert await count_rows(db, Order) == 1


async def test_a_price_changed_since_the_page_was_shown_is_refused_with_nothing_written(
    db: AsyncSession, bakery: BakeryCart
) -> None:
    form = await seen(db, ANON, bakery.page_id)
    await db.execute(update(Product).where(Product.id == bakery.bread_id).values(price_minor=275))
    await db.commit()

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)

    assert refused.value.code == "cart_changed"
    assert "Nothing was ordered" in refused.value.message
    assert "check your cart" in refused.value.message
    await assert_nothing_written(db, bakery)


@pytest.mark.parametrize("change", ["quantity", "line added", "line removed", "booking added"])
async def test_a_cart_changed_since_the_page_was_shown_is_refused(
    db: AsyncSession, factory: Factory, bakery: BakeryCart, change: str
) -> None:
    form = await seen(db, ANON, bakery.page_id)
    if change == "quantity":
        await db.execute(
            update(CartItem).where(CartItem.id == bakery.bread_line).values(quantity=3)
        )
    elif change == "line removed":
        await db.execute(
            update(CartItem)
            .where(CartItem.id == bakery.jam_line)
            .values(deleted_at=CartItem.created_at)
        )
    elif change == "line added":
        honey = (await factory.product(page_id=bakery.page_id, title="Honey")).id
        await factory.cart_item(
            product_id=honey, page_id=bakery.page_id, session_id=ANON.session_id
        )
    else:
        await entry_for(factory, ANON, slot_id=bakery.slot_id)
    await db.commit()

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)

    assert refused.value.code == "cart_changed"
    assert await count_rows(db, Order) == 0


async def test_a_product_gone_unavailable_since_the_page_was_shown_is_named(
    db: AsyncSession, bakery: BakeryCart
) -> None:
    form = await seen(db, ANON, bakery.page_id)
    await db.execute(update(Product).where(Product.id == bakery.jam_id).values(available=False))
    await db.commit()

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)

    assert refused.value.code == "product_unavailable"
    assert refused.value.message.startswith("Sorry, Jam cannot be bought any more.")
    await assert_nothing_written(db, bakery)


async def test_a_product_shown_as_unavailable_is_left_out_as_the_page_says(
    db: AsyncSession, bakery: BakeryCart
) -> None:
    await db.execute(update(Product).where(Product.id == bakery.jam_id).values(available=False))
    await db.commit()

    order = await create_order_from_cart(
        db, owner=ANON, page_id=bakery.page_id, **await seen(db, ANON, bakery.page_id)
    )

    assert order.total_minor == 2000
    assert [item[3] for item in await stored_items(db, order.id)] == [
        "Bread",
        "Baking class, Sat 4 May 2030, 11:00–14:00 BST",
    ]
    # It stays in the cart, not part of any order.
    assert await line_orders(db) == {bakery.bread_line: order.id, bakery.jam_line: None}


async def test_an_empty_cart_is_refused(db: AsyncSession, factory: Factory) -> None:
    page_id = (await factory.page(slug="empty")).id
    for owner, page in ((ANON, page_id), (ANON, None)):
        with pytest.raises(CheckoutError) as refused:
            await create_order_from_cart(
                db, owner=owner, page_id=page, **await seen(db, owner, page)
            )
        assert refused.value.code == "cart_empty"
        assert (
            refused.value.message
            == "There is nothing in this cart to pay for. Nothing was ordered."
        )
    assert await count_rows(db, Order) == 0


async def test_a_cart_of_only_products_no_longer_sold_is_empty(
    db: AsyncSession, factory: Factory
) -> None:
    gone = (await factory.product(page_id=None, title="Old mug", available=False)).id
    await factory.cart_item(product_id=gone, session_id=ANON.session_id)

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=None, **await seen(db, ANON, None))

    assert refused.value.code == "cart_empty"
    assert set((await line_orders(db)).values()) == {None}


async def test_a_cart_mixing_currencies_is_refused(
    db: AsyncSession, factory: Factory, bakery: BakeryCart
) -> None:
    euro = (await factory.product(page_id=bakery.page_id, title="Crêpe", currency="EUR")).id
    await factory.cart_item(product_id=euro, page_id=bakery.page_id, session_id=ANON.session_id)

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(
            db, owner=ANON, page_id=bakery.page_id, **await seen(db, ANON, bakery.page_id)
        )

    assert refused.value.code == "currencies_mixed"
    assert "EUR and GBP" in refused.value.message
    await assert_nothing_written(db, bakery)


async def test_a_sold_out_slot_is_named_and_nothing_is_written(
    db: AsyncSession, factory: Factory, bakery: BakeryCart
) -> None:
    await db.execute(update(CalendarSlot).values(places=1))
    await db.commit()
    await entry_for(factory, OTHER_ANON, slot_id=bakery.slot_id, state="ordered")
    form = await seen(db, ANON, bakery.page_id)

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)

    assert refused.value.code == "slot_sold_out"
    assert refused.value.message == (
        "Sorry, Baking class is sold out: its last place has just been taken. Nothing was ordered."
    )
    await assert_nothing_written(db, bakery)


async def test_a_second_tab_checking_out_a_cart_with_a_pending_order_is_sent_to_it(
    db: AsyncSession, bakery: BakeryCart
) -> None:
    first_tab = await seen(db, ANON, bakery.page_id)
    second_tab = await seen(db, ANON, bakery.page_id)
    first = await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **first_tab)
    first_id, first_number = first.id, first.number

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **second_tab)

    # One payable order per cart: the second tab is told which order waits for payment.
    assert refused.value.code == "order_pending"
    assert refused.value.message.startswith(f"Order {first_number} from this cart is waiting")
    assert [order.id for order in await stored_orders(db)] == [first_id]


async def test_a_checkout_that_won_between_loading_and_writing_is_named(
    db: AsyncSession, bakery: BakeryCart, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = await seen(db, ANON, bakery.page_id)
    real_load = checkout.load_cart

    async def load_then_another_tab_checks_out(session, *, owner):  # type: ignore[no-untyped-def]
        loaded = await real_load(session, owner=owner)
        async with checkout_session(db) as other:
            monkeypatch.setattr(checkout, "load_cart", real_load)
            await create_order_from_cart(
                other, owner=ANON, page_id=bakery.page_id, **await seen(other, ANON, bakery.page_id)
            )
        return loaded

    monkeypatch.setattr(checkout, "load_cart", load_then_another_tab_checks_out)
    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)

    # The other tab's pending order holds the cart now (the partial unique index refused
    # this one's order): the shopper is sent to it, and nothing else was written.
    assert refused.value.code == "order_pending"
    assert await count_rows(db, Order) == 1


async def test_a_quantity_changed_between_loading_and_writing_is_refused(
    db: AsyncSession, bakery: BakeryCart, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = await seen(db, ANON, bakery.page_id)
    real_load = checkout.load_cart

    async def load_then_another_tab_changes_bread(session, *, owner):  # type: ignore[no-untyped-def]
        loaded = await real_load(session, owner=owner)
        async with checkout_session(db) as other:
            await other.execute(
                update(CartItem).where(CartItem.id == bakery.bread_line).values(quantity=5)
            )
            await other.commit()
        return loaded

    monkeypatch.setattr(checkout, "load_cart", load_then_another_tab_changes_bread)
    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=bakery.page_id, **form)

    assert refused.value.code == "cart_changed"
    await assert_nothing_written(db, bakery)


async def test_an_order_number_drawn_twice_is_drawn_again(
    db: AsyncSession, factory: Factory, bakery: BakeryCart, monkeypatch: pytest.MonkeyPatch
) -> None:
    mug = (await factory.product(page_id=None, title="Co-op mug")).id
    await factory.cart_item(product_id=mug, session_id=ANON.session_id)
    taken = await create_order_from_cart(db, owner=ANON, page_id=None, **await seen(db, ANON, None))
    draws = iter([taken.number, "ABCD-EFGH"])
    monkeypatch.setattr(checkout, "new_order_number", lambda: next(draws))

    order = await create_order_from_cart(
        db, owner=ANON, page_id=bakery.page_id, **await seen(db, ANON, bakery.page_id)
    )

    assert order.number == "ABCD-EFGH"
    assert (await stored_entries(db, bakery.entry_id))[bakery.entry_id].order_id == order.id
    assert len(await events_of(db, "order.created")) == 2


async def test_a_total_larger_than_one_payment_can_be_is_refused(
    db: AsyncSession, factory: Factory
) -> None:
    gold = (await factory.product(page_id=None, title="Gold bar", price_minor=2**30)).id
    await factory.cart_item(product_id=gold, session_id=ANON.session_id, quantity=2)

    with pytest.raises(CheckoutError) as refused:
        await create_order_from_cart(db, owner=ANON, page_id=None, **await seen(db, ANON, None))

    assert refused.value.code == "total_too_large"
    assert await count_rows(db, Order) == 0


async def test_lines_of_another_shopper_are_never_stamped(
    db: AsyncSession, factory: Factory, bakery: BakeryCart
) -> None:
    other = await bakery_cart_for_other(factory, bakery)

    order = await create_order_from_cart(
        db, owner=ANON, page_id=bakery.page_id, **await seen(db, ANON, bakery.page_id)
    )

    stamps = await line_orders(db)
    assert stamps[other] is None and stamps[bakery.bread_line] == order.id


async def bakery_cart_for_other(factory: Factory, bakery: BakeryCart) -> int:
    line = await factory.cart_item(
        product_id=bakery.bread_id, page_id=bakery.page_id, session_id=OTHER_ANON.session_id
    )
    return line.id


def checkout_session(db: AsyncSession):  # type: ignore[no-untyped-def]
    """Another connection, as another request would have."""
    from shared.db import make_sessionmaker

    return make_sessionmaker(db.bind)()  # type: ignore[arg-type]
