"""Which anonymous orders a sign-in adopts: those placed in the last two hours, and every
pending one; never an older one (on a shared computer, an earlier visitor's), never another
browser's, never one that has a user. Racing adoptions move each order once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.orders.services.adopt_orders import ADOPTION_WINDOW, adopt_session_orders
from shared.db import make_sessionmaker
from shared.interfaces import Owner
from tests.conftest import postgres_only
from tests.factories import Factory
from tests.integration.checkout_data import ANON, OTHER_ANON
from tests.integration.orders_data import MadeOrder, make_orders, order_owners

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


async def one(db: AsyncSession, owner: Owner, status: str, age: timedelta) -> MadeOrder:
    [made] = await make_orders(db, owner, 1, status=status, first_day=NOW - age)
    return made


async def browser_history(db: AsyncSession, factory: Factory) -> dict[str, MadeOrder]:
    user_id = (await factory.user()).id
    return {
        "paid just now": await one(db, ANON, "paid", timedelta(minutes=1)),
        "paid at the window's edge": await one(db, ANON, "paid", ADOPTION_WINDOW),
        "cancelled an hour ago": await one(db, ANON, "cancelled", timedelta(hours=1)),
        "paid just before the window": await one(
            db, ANON, "paid", ADOPTION_WINDOW + timedelta(minutes=1)
        ),
        "expired hours ago": await one(db, ANON, "expired", timedelta(hours=5)),
        "pending for two days": await one(db, ANON, "pending", timedelta(days=2)),
        "another browser's": await one(db, OTHER_ANON, "paid", timedelta(minutes=1)),
        "a user's already": await one(
            db, Owner(user_id=user_id, session_id=ANON.session_id), "paid", timedelta(minutes=1)
        ),
    }


ADOPTED = {"paid just now", "paid at the window's edge", "cancelled an hour ago"} | {
    "pending for two days"
}


async def test_a_sign_in_adopts_recent_and_pending_orders_only(
    factory: Factory, db: AsyncSession
) -> None:
    assert ANON.session_id
    orders = await browser_history(db, factory)
    before = await order_owners(db)
    alice = (await factory.user()).id

    moved = await adopt_session_orders(db, session_id=ANON.session_id, user_id=alice, now=NOW)
    await db.commit()

    assert moved == len(ADOPTED)
    after = await order_owners(db)
    for name, order in orders.items():
        if name in ADOPTED:
            assert after[order.number] == (alice, ANON.session_id), name
        else:
            assert after[order.number] == before[order.number], name


@postgres_only
async def test_adoptions_racing_on_postgres_move_each_order_once(
    factory: Factory, db: AsyncSession, engine: AsyncEngine
) -> None:
    assert ANON.session_id
    session_id = ANON.session_id
    orders = await browser_history(db, factory)
    alice = (await factory.user()).id
    new_session = make_sessionmaker(engine)

    async def adopt_in_own_transaction() -> int:
        async with new_session() as session:
            moved = await adopt_session_orders(
                session, session_id=session_id, user_id=alice, now=NOW
            )
            await session.commit()
            return moved

    results = await asyncio.gather(*(adopt_in_own_transaction() for _ in range(4)))

    assert sum(results) == len(ADOPTED)  # each order moved by exactly one of them
    after = await order_owners(db)
    assert {name for name, order in orders.items() if after[order.number][0] == alice} == ADOPTED
