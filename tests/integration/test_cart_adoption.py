"""Signing in adopts the anonymous cart and bookings: merged once, never lost or doubled."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.cart.services.add import add_product
from bp.cart.services.adopt import Adoption, adopt_anonymous_cart, describe
from bp.cart.services.errors import CartError
from models import CartItem
from services import register_domain_services
from shared.db import make_sessionmaker
from shared.interfaces import Owner
from shared.models import CalendarEntry
from tests.conftest import postgres_only
from tests.factories import Factory

ANON_ID = "anon-" + "a" * 20
ANON = Owner(session_id=ANON_ID)
MAX = 99


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


async def live_lines(db: AsyncSession) -> dict[tuple[int | None, str | None, int], int]:
    """{(user, session, product): quantity} of every live line, as committed now."""
    await db.rollback()
    rows = await db.execute(
        select(CartItem.user_id, CartItem.session_id, CartItem.product_id, CartItem.quantity).where(
            CartItem.deleted_at.is_(None)
        )
    )
    return {(u, s, p): q for u, s, p, q in rows}


async def entry_owners(db: AsyncSession) -> dict[int, tuple[int | None, str | None]]:
    await db.rollback()
    rows = await db.execute(
        select(CalendarEntry.id, CalendarEntry.user_id, CalendarEntry.session_id)
    )
    return {entry_id: (user_id, session_id) for entry_id, user_id, session_id in rows}


async def add(db: AsyncSession, owner: Owner, product_id: int, quantity: int) -> None:
    await add_product(db, owner=owner, product_id=product_id, quantity=quantity, max_quantity=MAX)


async def a_shopper_who_signs_in(factory: Factory, db: AsyncSession) -> dict[str, int]:
    """An anonymous cart (bread ×2, jam ×1, a booking) and a user who already has bread ×1."""
    page_id = (await factory.page(title="Bakery", slug="bakery")).id
    ids = {
        "page": page_id,
        "user": (await factory.user()).id,
        "bread": (await factory.product(title="Bread", page_id=page_id)).id,
        "jam": (await factory.product(title="Jam", page_id=page_id)).id,
    }
    calendar_id = (await factory.calendar(page_id=page_id)).id
    slot_id = (await factory.slot(calendar_id=calendar_id, title="Baking class")).id
    ids["entry"] = (await factory.entry(slot_id=slot_id, session_id=ANON_ID)).id
    await add(db, ANON, ids["bread"], 2)
    await add(db, ANON, ids["jam"], 1)
    await add(db, Owner(user_id=ids["user"]), ids["bread"], 1)
    return ids


async def adopt(db: AsyncSession, user_id: int, max_quantity: int = MAX) -> Adoption:
    return await adopt_anonymous_cart(
        db, session_id=ANON_ID, user_id=user_id, max_quantity=max_quantity
    )


async def test_adoption_merges_quantities_moves_bookings_and_says_so(
    factory: Factory, db: AsyncSession
) -> None:
    ids = await a_shopper_who_signs_in(factory, db)

    adoption = await adopt(db, ids["user"])

    assert await live_lines(db) == {
        (ids["user"], None, ids["bread"]): 3,
        (ids["user"], None, ids["jam"]): 1,
    }
    assert await entry_owners(db) == {ids["entry"]: (ids["user"], None)}
    assert adoption.bookings_moved == 1
    message = describe(adoption)
    assert message is not None
    assert "3 items from before you signed in were added to your cart" in message
    assert "Bread ×3 now" in message and "Jam ×1 now" in message
    assert "1 booking moved to your cart too." in message


async def test_the_anonymous_lines_are_kept_for_the_record_but_no_longer_live(
    factory: Factory, db: AsyncSession
) -> None:
    ids = await a_shopper_who_signs_in(factory, db)
    await adopt(db, ids["user"])
    await db.rollback()
    anonymous = (
        await db.execute(
            select(CartItem.quantity, CartItem.deleted_at.is_not(None)).where(
                CartItem.session_id == ANON_ID
            )
        )
    ).all()
    assert sorted(tuple(row) for row in anonymous) == [(1, True), (2, True)]


async def test_adopting_twice_adopts_once(factory: Factory, db: AsyncSession) -> None:
    ids = await a_shopper_who_signs_in(factory, db)
    await adopt(db, ids["user"])

    again = await adopt(db, ids["user"])

    assert again.nothing and describe(again) is None
    assert (await live_lines(db))[(ids["user"], None, ids["bread"])] == 3


async def test_a_merge_past_the_limit_is_capped_and_the_shopper_is_told(
    factory: Factory, db: AsyncSession
) -> None:
    ids = await a_shopper_who_signs_in(factory, db)
    await add(db, Owner(user_id=ids["user"]), ids["bread"], 97)  # the user has 98

    adoption = await adopt(db, ids["user"])

    assert (await live_lines(db))[(ids["user"], None, ids["bread"])] == MAX
    message = describe(adoption)
    assert message is not None and "Bread ×99 now" in message
    assert "Bread: a cart holds at most 99 of one product, so we kept that many." in message
    # The cap holds for later adds too.
    with pytest.raises(CartError):
        await add(db, Owner(user_id=ids["user"]), ids["bread"], 1)


@postgres_only
async def test_two_adoptions_racing_on_postgres_merge_every_item_exactly_once(
    factory: Factory, db: AsyncSession, engine: AsyncEngine
) -> None:
    ids = await a_shopper_who_signs_in(factory, db)
    new_session = make_sessionmaker(engine)

    async def adopt_in_own_transaction() -> Adoption:
        async with new_session() as session:
            return await adopt(session, ids["user"])

    results = await asyncio.gather(*(adopt_in_own_transaction() for _ in range(4)))

    # Exactly one request claimed the anonymous cart; the others found nothing left.
    assert sorted(len(result.lines) for result in results) == [0, 0, 0, 2]
    assert sorted(result.bookings_moved for result in results) == [0, 0, 0, 1]
    assert await live_lines(db) == {
        (ids["user"], None, ids["bread"]): 3,
        (ids["user"], None, ids["jam"]): 1,
    }
    assert await entry_owners(db) == {ids["entry"]: (ids["user"], None)}


@postgres_only
async def test_one_shopper_adding_the_same_product_concurrently_gets_one_line_with_the_sum(
    factory: Factory, db: AsyncSession, engine: AsyncEngine
) -> None:
    bread = (await factory.product(title="Bread")).id
    new_session = make_sessionmaker(engine)

    async def add_one() -> None:
        async with new_session() as session:
            await add(session, ANON, bread, 1)

    await asyncio.gather(*(add_one() for _ in range(10)))

    assert await live_lines(db) == {(None, ANON_ID, bread): 10}


@postgres_only
async def test_concurrent_adds_near_the_limit_never_take_a_line_past_it(
    factory: Factory, db: AsyncSession, engine: AsyncEngine
) -> None:
    bread = (await factory.product(title="Bread")).id
    await add(db, ANON, bread, MAX - 4)
    new_session = make_sessionmaker(engine)

    async def add_one() -> bool:
        async with new_session() as session:
            try:
                await add(session, ANON, bread, 1)
            except CartError as error:
                assert error.code == "quantity_too_large"
                return False
            return True

    outcomes = await asyncio.gather(*(add_one() for _ in range(10)))

    assert outcomes.count(True) == 4 and outcomes.count(False) == 6
    assert await live_lines(db) == {(None, ANON_ID, bread): MAX}
