"""Races on PostgreSQL: many checkouts claiming places at the same moment, from separate
connections (and separate processes), never overfill a slot or claim an entry twice.

Each contender opens its connection first, then all are released together by a barrier;
a winner holds its transaction a moment before committing, so the others really run while
it holds its locks (without the slot lock, every one of them would see room and succeed).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.sql_calendar import SqlCalendarService
from shared.db import make_sessionmaker
from shared.interfaces import BookingError, Owner, SlotSoldOut
from shared.models import CalendarEntry
from tests.conftest import postgres_only
from tests.contract.calendar_data import StoredEntry, entry_for, slot_on_page, stored_entries
from tests.factories import Factory
from tests.integration.calendar_claim_worker import HOLD_SECONDS, claim_in_process

pytestmark = postgres_only

calendar = SqlCalendarService()
SLOT_TITLE = "Ten shoppers, three places"


class Contender:
    """One request's transaction: runs `work` when the barrier opens, then commits or rolls
    back; remembers when it started and when it finished."""

    def __init__(self, engine: AsyncEngine, barrier: asyncio.Barrier) -> None:
        self.sessionmaker = make_sessionmaker(engine)
        self.barrier = barrier
        self.started = self.finished = 0.0

    async def run(self, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with self.sessionmaker() as session:
            await session.execute(select(1))  # connected before the start
            await self.barrier.wait()
            self.started = time.monotonic()
            try:
                result = await work(session)
                await asyncio.sleep(HOLD_SECONDS)
                await session.commit()
                return result
            except BookingError as refused:
                await session.rollback()
                return refused
            finally:
                self.finished = time.monotonic()


async def race(
    engine: AsyncEngine, works: list[Callable[[AsyncSession], Awaitable[Any]]]
) -> list[Any]:
    barrier = asyncio.Barrier(len(works))
    contenders = [Contender(engine, barrier) for _ in works]
    results = await asyncio.wait_for(
        asyncio.gather(*(c.run(work) for c, work in zip(contenders, works, strict=True))),
        timeout=60,
    )
    # The race was real: every contender had started before the first one finished.
    assert max(c.started for c in contenders) < min(c.finished for c in contenders)
    return results


async def _ten_shoppers_on_three_places(factory: Factory) -> tuple[int, list[tuple[str, int]]]:
    slot = await slot_on_page(factory, places=3, title=SLOT_TITLE)
    shoppers = []
    for n in range(10):
        session_id = f"shopper-{n:02d}-xxxxxxxxxxxxxxxx"
        shoppers.append(
            (session_id, await entry_for(factory, Owner(session_id=session_id), slot_id=slot.id))
        )
    return slot.id, shoppers


async def _states_in_slot(db: AsyncSession, slot_id: int) -> Counter[str]:
    rows = await db.execute(
        select(CalendarEntry.state, func.count())
        .where(CalendarEntry.slot_id == slot_id)
        .group_by(CalendarEntry.state)
    )
    return Counter({state: count for state, count in rows})


async def test_ten_shoppers_claiming_three_places_at_once_only_three_get_one(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    slot_id, shoppers = await _ten_shoppers_on_three_places(factory)

    def claim(session_id: str, entry_id: int, order_id: int):  # type: ignore[no-untyped-def]
        return lambda session: calendar.claim_entries_for_order(
            session, Owner(session_id=session_id), [entry_id], order_id
        )

    results = await race(
        engine,
        [claim(sid, entry_id, 100 + n) for n, (sid, entry_id) in enumerate(shoppers)],
    )

    refusals = [r for r in results if isinstance(r, BookingError)]
    assert results.count(None) == 3
    assert len(refusals) == 7
    assert all(isinstance(r, SlotSoldOut) and r.slot_title == SLOT_TITLE for r in refusals)
    assert sorted(r.entry_id for r in refusals) == sorted(
        entry_id for (_, entry_id), r in zip(shoppers, results, strict=True) if r is not None
    )
    assert await _states_in_slot(db, slot_id) == Counter(ordered=3, pending=7)


async def test_ten_shoppers_in_ten_processes_claiming_three_places_only_three_get_one(
    engine: AsyncEngine, factory: Factory, db: AsyncSession, database_url: str
) -> None:
    slot_id, shoppers = await _ten_shoppers_on_three_places(factory)
    context = multiprocessing.get_context("spawn")
    start_line = context.Barrier(len(shoppers))
    results_queue = context.Queue()
    processes = [
        context.Process(
            target=claim_in_process,
            args=(database_url, sid, entry_id, 200 + n, start_line, results_queue),
        )
        for n, (sid, entry_id) in enumerate(shoppers)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [await asyncio.to_thread(results_queue.get, timeout=90) for _ in processes]
    finally:
        for process in processes:
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.kill()

    assert [o for o in outcomes if o[0] == "error"] == []
    assert Counter(kind for kind, _, _ in outcomes) == Counter(claimed=3, sold_out=7)
    assert {title for kind, _, title in outcomes if kind == "sold_out"} == {SLOT_TITLE}
    assert await _states_in_slot(db, slot_id) == Counter(ordered=3, pending=7)


async def test_same_booking_claimed_by_two_orders_at_once_ends_in_exactly_one(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    # Two browser tabs of one shopper check out the same booking at the same moment.
    shopper = Owner(session_id="two-tabs-xxxxxxxxxxxxxxxx")
    slot = await slot_on_page(factory, places=5)
    entry_id = await entry_for(factory, shopper, slot_id=slot.id)

    def claim(order_id: int):  # type: ignore[no-untyped-def]
        return lambda session: calendar.claim_entries_for_order(
            session, shopper, [entry_id], order_id
        )

    results = await race(engine, [claim(1), claim(2)])

    [winner] = [order_id for order_id, r in zip((1, 2), results, strict=True) if r is None]
    [loser] = [r for r in results if r is not None]
    assert (loser.code, loser.entry_id) == ("entry_not_pending", entry_id)
    stored = (await stored_entries(db, entry_id))[entry_id]
    assert (stored.state, stored.order_id) == ("ordered", winner)


async def test_racing_adoptions_adopt_each_booking_exactly_once(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    # The same anonymous session signs in twice at once (two tabs), and as two users.
    anonymous = "shared-browser-xxxxxxxxxx"
    users = [(await factory.user()).id for _ in range(2)]
    slot = await slot_on_page(factory)
    entry_ids = [
        await entry_for(factory, Owner(session_id=anonymous), slot_id=slot.id) for _ in range(6)
    ]

    def adopt(user_id: int):  # type: ignore[no-untyped-def]
        return lambda session: calendar.adopt_session_entries(
            session, session_id=anonymous, user_id=user_id
        )

    racers = [users[0], users[1], users[0], users[1]]
    counts = await race(engine, [adopt(user_id) for user_id in racers])

    assert sum(counts) == len(entry_ids)
    stored = await stored_entries(db, *entry_ids)
    owners = Counter(entry.user_id for entry in stored.values())
    adopted_by = Counter()
    for user_id, count in zip(racers, counts, strict=True):
        adopted_by[user_id] += count
    assert owners == +adopted_by  # each entry belongs to exactly the racer that counted it
    assert {entry.state for entry in stored.values()} == {"pending"}


@pytest.mark.parametrize("head_start", ["checkout", "sign_in"])
async def test_checkout_racing_sign_in_ends_with_all_bookings_ordered_or_all_adopted(
    engine: AsyncEngine, factory: Factory, db: AsyncSession, head_start: str
) -> None:
    # One browser: a checkout of the anonymous cart while the same session signs in.
    anonymous = Owner(session_id="checkout-and-sign-in-xxxx")
    user_id = (await factory.user()).id
    slots = [await slot_on_page(factory) for _ in range(2)]
    entry_ids = [
        await entry_for(factory, anonymous, slot_id=slot.id) for slot in slots for _ in range(2)
    ]

    # Either may get to the rows first; a few milliseconds' head start makes both orders
    # happen (the outcome must be all-or-none whichever wins).
    async def checkout(session: AsyncSession) -> str:
        if head_start == "sign_in":
            await asyncio.sleep(0.02)
        await calendar.claim_entries_for_order(session, anonymous, entry_ids, 55)
        return "claimed"

    async def sign_in(session: AsyncSession) -> int:
        if head_start == "checkout":
            await asyncio.sleep(0.02)
        return await calendar.adopt_session_entries(
            session, session_id="checkout-and-sign-in-xxxx", user_id=user_id
        )

    claim_result, adopted = await race(engine, [checkout, sign_in])

    stored = set((await stored_entries(db, *entry_ids)).values())
    if claim_result == "claimed":
        assert adopted == 0
        assert stored == {StoredEntry("ordered", 55, None, anonymous.session_id)}
    else:
        assert (claim_result.code, adopted) == ("entry_not_pending", len(entry_ids))
        assert stored == {StoredEntry("pending", None, user_id, None)}
