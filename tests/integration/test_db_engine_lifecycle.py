"""Who closes the database engine: the app closes the engine it made, and leaves one it was
handed (a test's) to its owner. And a pooled connection PostgreSQL has closed is not handed
out again.

Disposing of a handed-in engine while its owner still had a session open orphaned that
session's connection: it went back to the discarded pool, was never closed, and aiosqlite
complained when the garbage collector found it, after the test's event loop had closed.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings
from shared.db import make_engine, make_sessionmaker
from tests.conftest import postgres_only


async def test_the_app_leaves_a_handed_in_engine_and_its_open_sessions_alone(
    settings: Settings, engine: AsyncEngine
) -> None:
    from app import create_app

    quart_app = create_app(settings)
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    pool = engine.pool

    async with make_sessionmaker(engine)() as session:
        async with quart_app.test_app():
            await session.execute(text("SELECT 1"))  # a connection checked out across the stop
        assert engine.pool is pool  # not disposed (that replaces the pool)
        assert quart_app.extensions["db_engine"] is engine
        await session.execute(text("SELECT 1"))  # still usable

    # The session's connection went back to the engine's own pool, where dispose() closes it.
    assert (engine.pool.checkedout(), engine.pool.checkedin()) == (0, 1)


async def test_the_app_disposes_of_the_engine_it_made(settings: Settings) -> None:
    from app import create_app

    quart_app = create_app(settings)
    async with quart_app.test_app():
        made = quart_app.extensions["db_engine"]
        async with made.connect() as connection:
            await connection.execute(text("SELECT 1"))
        pool = made.pool
        assert pool.checkedin() == 1

    assert "db_engine" not in quart_app.extensions
    # Disposed: the pool it had is drained (its connection closed) and replaced.
    assert made.pool is not pool and pool.checkedin() == 0


@postgres_only
async def test_a_pooled_connection_the_server_closed_is_replaced_when_taken(
    database_url: str,
) -> None:
    """Without pool_pre_ping's three round trips (issue 10): asyncpg knows its connection is
    closed once PostgreSQL has said goodbye, and the pool takes another."""
    engine = make_engine(database_url, pool_size=1)
    other = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            first_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with other.connect() as killer:
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        await asyncio.sleep(0.2)  # the goodbye reaches asyncpg through the event loop

        async with engine.connect() as connection:
            second_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert second_pid != first_pid
        assert engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    finally:
        await other.dispose()
        await engine.dispose()
