"""One shopper's checkout claim in its own OS process, for the multi-process race test.

It lives outside the test module so that a spawned process imports only this and what the
claim needs, not pytest's conftest.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from services.sql_calendar import SqlCalendarService
from shared.db import make_engine, make_sessionmaker
from shared.interfaces import BookingError, Owner, SlotSoldOut

# How long a winner holds its slot lock before committing, so the others really wait on it.
HOLD_SECONDS = 0.05


def claim_in_process(
    database_url: str,
    session_id: str,
    entry_id: int,
    order_id: int,
    start_line: Any,  # multiprocessing.Barrier shared by all the shoppers
    results: Any,  # multiprocessing.Queue
) -> None:
    try:
        outcome = asyncio.run(_claim(database_url, session_id, entry_id, order_id, start_line))
    except Exception as error:  # reported to the test, which fails with it
        outcome = ("error", entry_id, repr(error))
    results.put(outcome)


async def _claim(
    database_url: str, session_id: str, entry_id: int, order_id: int, start_line: Any
) -> tuple[str, int, str]:
    engine = make_engine(database_url)  # each process its own engine and connection
    try:
        async with make_sessionmaker(engine)() as session:
            await session.execute(select(1))  # connected before the start
            start_line.wait(timeout=60)  # blocks this process's only thread: nothing else runs
            try:
                await SqlCalendarService().claim_entries_for_order(
                    session, Owner(session_id=session_id), [entry_id], order_id
                )
                await asyncio.sleep(HOLD_SECONDS)
                await session.commit()
                return ("claimed", entry_id, "")
            except SlotSoldOut as sold_out:
                await session.rollback()
                return ("sold_out", entry_id, sold_out.slot_title)
            except BookingError as refused:
                await session.rollback()
                return ("refused", entry_id, refused.code)
    finally:
        await engine.dispose()
