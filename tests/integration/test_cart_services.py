"""The cart's use cases against the real database: add, change, remove, load."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.add import add_product
from bp.cart.services.change_quantity import change_quantity
from bp.cart.services.errors import CartError
from bp.cart.services.load import load_cart, load_page_cart
from bp.cart.services.remove import remove_line
from bp.cart.services.totals import overview, page_section
from models import CartItem
from services import register_domain_services
from shared.interfaces import Owner
from shared.models import Product
from tests.factories import Factory

ANON = Owner(session_id="anon-" + "a" * 20)
OTHER_ANON = Owner(session_id="anon-" + "b" * 20)
MAX = 99


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


async def stored_lines(
    db: AsyncSession,
) -> list[tuple[int | None, str | None, int | None, int, int, bool]]:
    """Every row of cart_items as (user, session, page, product, quantity, live), by id."""
    await db.rollback()  # read what is committed now, not an older snapshot
    rows = await db.execute(
        select(
            CartItem.user_id,
            CartItem.session_id,
            CartItem.page_id,
            CartItem.product_id,
            CartItem.quantity,
            CartItem.deleted_at.is_(None),
        ).order_by(CartItem.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def add(db: AsyncSession, owner: Owner, product_id: int, quantity: int = 1):  # type: ignore[no-untyped-def]
    return await add_product(
        db, owner=owner, product_id=product_id, quantity=quantity, max_quantity=MAX
    )


async def test_add_puts_the_product_on_its_pages_cart(factory: Factory, db: AsyncSession) -> None:
    page = await factory.page(title="Bakery", slug="bakery")
    page_id = page.id
    bread = (await factory.product(title="Bread", page_id=page_id)).id

    added = await add(db, ANON, bread, 2)

    assert (added.product_title, added.added, added.quantity_now) == ("Bread", 2, 2)
    assert added.page is not None and added.page.slug == "bakery"
    assert await stored_lines(db) == [(None, ANON.session_id, page_id, bread, 2, True)]


async def test_adding_the_same_product_again_adds_to_the_one_line(
    factory: Factory, db: AsyncSession
) -> None:
    page_id = (await factory.page()).id
    bread = (await factory.product(page_id=page_id)).id

    first = await add(db, ANON, bread, 2)
    second = await add(db, ANON, bread, 3)

    assert second.line_id == first.line_id and second.quantity_now == 5
    assert await stored_lines(db) == [(None, ANON.session_id, page_id, bread, 5, True)]


async def test_a_site_level_product_goes_to_the_site_cart(
    factory: Factory, db: AsyncSession
) -> None:
    tote = (await factory.product(title="Tote bag", page_id=None)).id
    user_id = (await factory.user()).id

    added = await add(db, Owner(user_id=user_id), tote, 1)
    await add(db, Owner(user_id=user_id), tote, 1)

    assert added.page is None
    assert await stored_lines(db) == [(user_id, None, None, tote, 2, True)]


async def test_adding_past_the_limit_is_refused_and_the_line_keeps_its_quantity(
    factory: Factory, db: AsyncSession
) -> None:
    bread = (await factory.product(title="Bread")).id
    await add(db, ANON, bread, 95)

    with pytest.raises(CartError) as caught:
        await add(db, ANON, bread, 5)

    assert caught.value.code == "quantity_too_large"
    assert "at most 99 of Bread; you already have 95" in caught.value.message
    assert await stored_lines(db) == [(None, ANON.session_id, None, bread, 95, True)]
    # Up to the limit exactly is fine.
    assert (await add(db, ANON, bread, 4)).quantity_now == 99


async def test_unknown_and_unavailable_products_are_refused_and_nothing_is_stored(
    factory: Factory, db: AsyncSession
) -> None:
    gone = (await factory.product(title="Old jam", available=False)).id

    with pytest.raises(CartError) as unknown:
        await add(db, ANON, 987654)
    with pytest.raises(CartError) as unavailable:
        await add(db, ANON, gone)

    assert unknown.value.code == "product_unknown"
    assert unavailable.value.code == "product_unavailable"
    assert "Old jam is not available any more" in unavailable.value.message
    assert await stored_lines(db) == []


async def test_a_quantity_outside_the_range_is_refused_by_the_service_too(
    factory: Factory, db: AsyncSession
) -> None:
    bread = (await factory.product()).id
    for quantity in (0, -1, MAX + 1):
        with pytest.raises(CartError) as caught:
            await add(db, ANON, bread, quantity)
        assert caught.value.code == "quantity_invalid"
    assert await stored_lines(db) == []


async def test_shoppers_have_separate_carts(factory: Factory, db: AsyncSession) -> None:
    bread = (await factory.product()).id
    user_id = (await factory.user()).id
    await add(db, ANON, bread, 1)
    await add(db, OTHER_ANON, bread, 2)
    await add(db, Owner(user_id=user_id), bread, 3)

    assert await stored_lines(db) == [
        (None, ANON.session_id, None, bread, 1, True),
        (None, OTHER_ANON.session_id, None, bread, 2, True),
        (user_id, None, None, bread, 3, True),
    ]


async def test_change_quantity_sets_the_owners_line(factory: Factory, db: AsyncSession) -> None:
    bread = (await factory.product()).id
    line_id = (await add(db, ANON, bread, 1)).line_id

    changed = await change_quantity(db, owner=ANON, line_id=line_id, quantity=7, max_quantity=MAX)

    assert (changed.line_id, changed.quantity) == (line_id, 7)
    assert await stored_lines(db) == [(None, ANON.session_id, None, bread, 7, True)]


@pytest.mark.parametrize("who", ["other anonymous", "signed-in user", "nobody"])
async def test_someone_elses_line_cannot_be_changed_or_removed(
    factory: Factory, db: AsyncSession, who: str
) -> None:
    bread = (await factory.product()).id
    line_id = (await add(db, ANON, bread, 2)).line_id
    user_id = (await factory.user()).id
    intruder = {
        "other anonymous": OTHER_ANON,
        "signed-in user": Owner(user_id=user_id),
        "nobody": None,
    }[who]

    with pytest.raises(CartError) as changing:
        await change_quantity(db, owner=intruder, line_id=line_id, quantity=9, max_quantity=MAX)
    with pytest.raises(CartError) as removing:
        await remove_line(db, owner=intruder, line_id=line_id)

    assert changing.value.code == removing.value.code == "line_unknown"
    assert changing.value.status == 404
    assert await stored_lines(db) == [(None, ANON.session_id, None, bread, 2, True)]


async def test_remove_soft_deletes_and_a_removed_line_is_gone_for_good(
    factory: Factory, db: AsyncSession
) -> None:
    bread = (await factory.product()).id
    line_id = (await add(db, ANON, bread, 2)).line_id

    await remove_line(db, owner=ANON, line_id=line_id)

    assert await stored_lines(db) == [(None, ANON.session_id, None, bread, 2, False)]
    with pytest.raises(CartError):
        await remove_line(db, owner=ANON, line_id=line_id)
    with pytest.raises(CartError):
        await change_quantity(db, owner=ANON, line_id=line_id, quantity=1, max_quantity=MAX)
    # Adding the product again starts a new line beside the removed one.
    await add(db, ANON, bread, 1)
    assert (await stored_lines(db))[-1] == (None, ANON.session_id, None, bread, 1, True)


async def test_load_gathers_lines_products_bookings_and_pages(
    factory: Factory, db: AsyncSession
) -> None:
    bakery_id = (await factory.page(title="Bakery", slug="bakery")).id
    arts_id = (await factory.page(title="Arts", slug="arts")).id
    bread = (await factory.product(title="Bread", page_id=bakery_id, price_minor=250)).id
    jam = (await factory.product(title="Jam", page_id=bakery_id, price_minor=400)).id
    tote = (await factory.product(title="Tote", page_id=None, price_minor=1000)).id
    calendar_id = (await factory.calendar(page_id=arts_id)).id
    slot_id = (await factory.slot(calendar_id=calendar_id, title="Pottery", price_minor=1500)).id
    await factory.entry(slot_id=slot_id, session_id=ANON.session_id)
    await factory.entry(slot_id=slot_id, session_id=OTHER_ANON.session_id)  # not ours
    await add(db, ANON, bread, 2)
    await add(db, ANON, jam, 1)
    await add(db, ANON, tote, 1)
    # The market stops selling the jam after it was put in the cart.
    await db.execute(update(Product).where(Product.id == jam).values(available=False))
    await db.commit()

    result = overview(await load_cart(db, owner=ANON))

    assert [s.page.title if s.page else None for s in result.sections] == [None, "Arts", "Bakery"]
    site, arts, bakery = result.sections
    assert site.totals == {"GBP": 1000}
    assert arts.totals == {"GBP": 1500} and [b.title for b in arts.booking_lines] == ["Pottery"]
    assert bakery.totals == {"GBP": 500}  # the unavailable jam is shown but not counted
    assert [(p.line.title, p.total_minor) for p in bakery.product_lines] == [
        ("Bread", 500),
        ("Jam", None),
    ]

    page, loaded = await load_page_cart(db, owner=ANON, page_slug="arts")
    assert page.id == arts_id and page_section(loaded, page).totals == {"GBP": 1500}
    with pytest.raises(CartError) as caught:
        await load_page_cart(db, owner=ANON, page_slug="no-such-page")
    assert caught.value.code == "page_unknown"


async def test_an_anonymous_visitor_without_a_cart_loads_an_empty_one(db: AsyncSession) -> None:
    assert overview(await load_cart(db, owner=None)).sections == ()
