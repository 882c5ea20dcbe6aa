"""list_orders(): whose orders, in what order, a page at a time; and signing in adopts orders."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.cart.services.adopt import Adoption, adopt_anonymous_cart, describe
from bp.orders.services.list_orders import list_orders
from services import register_domain_services
from shared.db import make_sessionmaker
from shared.interfaces import Owner
from tests.conftest import postgres_only
from tests.factories import Factory
from tests.integration.orders_data import make_orders, order_owners

ANON = Owner(session_id="anon-" + "a" * 20)
OTHER_ANON = Owner(session_id="anon-" + "b" * 20)


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


async def test_a_user_sees_their_own_orders_newest_first_with_their_pages(
    factory: Factory, db: AsyncSession
) -> None:
    me, someone = (await factory.user()).id, (await factory.user()).id
    bakery = (await factory.page(title="Bakery")).id
    mine = await make_orders(db, Owner(user_id=me), 3, page_id=bakery)
    await make_orders(db, Owner(user_id=someone), 2, page_id=bakery)
    await make_orders(db, ANON, 1)

    listed = await list_orders(db, owner=Owner(user_id=me), page=1)

    assert [order.number for order in listed.orders] == [o.number for o in reversed(mine)]
    assert {order.page.title for order in listed.orders if order.page} == {"Bakery"}
    assert (listed.page, listed.page_count, listed.order_count) == (1, 1, 3)
    assert not listed.has_previous and not listed.has_next


async def test_an_anonymous_shopper_sees_only_their_sessions_unadopted_orders(
    factory: Factory, db: AsyncSession
) -> None:
    user = (await factory.user()).id
    [kept] = await make_orders(db, ANON, 1)
    await make_orders(db, OTHER_ANON, 1)
    # Placed in this browser, then adopted by a user who signed in: the anonymous id
    # that placed it sees it no more.
    await make_orders(db, Owner(user_id=user, session_id=ANON.session_id), 1)

    listed = await list_orders(db, owner=ANON, page=1)

    assert [order.number for order in listed.orders] == [kept.number]
    assert (await list_orders(db, owner=None, page=1)).orders == ()


async def test_pages_split_the_orders_and_a_page_past_the_end_shows_the_last(
    factory: Factory, db: AsyncSession
) -> None:
    me = Owner(user_id=(await factory.user()).id)
    made = await make_orders(db, me, 7)
    newest_first = [o.number for o in reversed(made)]

    pages = [await list_orders(db, owner=me, page=n, page_size=3) for n in (1, 2, 3)]
    past_the_end = await list_orders(db, owner=me, page=40, page_size=3)

    assert [[o.number for o in p.orders] for p in pages] == [
        newest_first[0:3],
        newest_first[3:6],
        newest_first[6:7],
    ]
    assert [(p.page, p.page_count, p.has_previous, p.has_next) for p in pages] == [
        (1, 3, False, True),
        (2, 3, True, True),
        (3, 3, True, False),
    ]
    assert past_the_end.page == 3 and past_the_end.orders == pages[2].orders


async def test_orders_made_in_the_same_instant_each_show_on_exactly_one_page(
    factory: Factory, db: AsyncSession
) -> None:
    me = Owner(user_id=(await factory.user()).id)
    made = [(await make_orders(db, me, 1))[0] for _ in range(5)]  # all on the same day

    shown = [
        order.number
        for n in (1, 2, 3)
        for order in (await list_orders(db, owner=me, page=n, page_size=2)).orders
    ]

    assert shown == [o.number for o in reversed(made)]


async def test_signing_in_adopts_the_sessions_orders_and_moves_nobody_elses(
    factory: Factory, db: AsyncSession
) -> None:
    user, other_user = (await factory.user()).id, (await factory.user()).id
    anonymous = await make_orders(db, ANON, 2)
    [others_anonymous] = await make_orders(db, OTHER_ANON, 1)
    [other_users] = await make_orders(db, Owner(user_id=other_user), 1)
    # Placed in this browser while someone else was signed in: theirs, and it stays so.
    [adopted_before] = await make_orders(
        db, Owner(user_id=other_user, session_id=ANON.session_id), 1
    )
    assert ANON.session_id and OTHER_ANON.session_id

    adoption = await adopt_anonymous_cart(
        db, session_id=ANON.session_id, user_id=user, max_quantity=99
    )

    assert adoption.orders_moved == 2
    assert describe(adoption) == "2 orders from before you signed in are now in Your orders."
    assert await order_owners(db) == {
        anonymous[0].number: (user, ANON.session_id),
        anonymous[1].number: (user, ANON.session_id),
        others_anonymous.number: (None, OTHER_ANON.session_id),
        other_users.number: (other_user, None),
        adopted_before.number: (other_user, ANON.session_id),
    }
    listed = await list_orders(db, owner=Owner(user_id=user), page=1)
    assert {o.number for o in listed.orders} == {o.number for o in anonymous}
    assert (await list_orders(db, owner=ANON, page=1)).orders == ()
    again = await adopt_anonymous_cart(
        db, session_id=ANON.session_id, user_id=user, max_quantity=99
    )
    assert again.nothing and describe(again) is None


def test_one_adopted_order_is_told_in_the_singular() -> None:
    adoption = Adoption(lines=(), bookings_moved=0, max_quantity=99, orders_moved=1)

    assert describe(adoption) == "1 order from before you signed in is now in Your orders."


@postgres_only
async def test_adoptions_racing_on_postgres_move_each_order_once(
    factory: Factory, db: AsyncSession, engine: AsyncEngine
) -> None:
    user = (await factory.user()).id
    anonymous = await make_orders(db, ANON, 3)
    new_session = make_sessionmaker(engine)
    assert ANON.session_id

    async def adopt_in_own_transaction() -> Adoption:
        async with new_session() as session:
            return await adopt_anonymous_cart(
                session, session_id=ANON.session_id, user_id=user, max_quantity=99
            )

    results = await asyncio.gather(*(adopt_in_own_transaction() for _ in range(4)))

    # One request moved the three orders; the others waited on its locks, then found
    # nothing left that matched.
    assert sorted(result.orders_moved for result in results) == [0, 0, 0, 3]
    owners = await order_owners(db)
    assert {owners[o.number] for o in anonymous} == {(user, ANON.session_id)}
