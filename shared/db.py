"""The database engine and one session per request.

The engine is made when the app starts serving and disposed when it stops; it hangs off
the app. A request gets its session on first use (`get_session()`); the session is
committed when the response is a success and rolled back otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quart import Quart, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.disconnect import run_to_completion


def make_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> AsyncEngine:
    """The engine for `url`; on PostgreSQL a pool of `pool_size` connections that stay open.

    No overflow: connections opened beyond the pool would be closed again as they come back,
    so a busy worker would open a new PostgreSQL connection every few requests.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if pool_size is not None:
            kwargs.update(pool_size=pool_size, max_overflow=0)
        engine = create_async_engine(url, **kwargs)
        _replace_closed_connections_at_checkout(engine)
        return engine

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # SQLite has one writer at a time: wait for the lock instead of failing at once.
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def _replace_closed_connections_at_checkout(engine: AsyncEngine) -> None:
    """A pooled connection that PostgreSQL has closed (a restart, a terminated backend) is
    replaced by a new one when a request takes it from the pool.

    asyncpg learns of the close as soon as the server's goodbye arrives, so asking it costs
    nothing. SQLAlchemy's `pool_pre_ping` asked the server instead: BEGIN, an empty query
    and ROLLBACK, three round trips before every request's first statement, which the cart
    page (five statements) paid in latency and PostgreSQL in CPU (issue 10). What only the
    ping could catch is a connection cut without a goodbye (a network device dropping it
    silently): such a connection fails the request that uses it instead of being replaced
    before it (see the README's production notes).
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _closed_by_the_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # An asyncpg connection: the one PostgreSQL driver the settings accept.
        if dbapi_connection.driver_connection.is_closed():
            # The pool discards it and checks out another (a new connection if need be).
            raise DisconnectionError("closed by the database server")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# Set when the app made its engine itself, and so is the one to dispose of it.
_OWNS_ENGINE_KEY = "db_engine_owned"


def init_db(app: Quart) -> None:
    """Open the engine when the app starts serving; close it when it stops."""

    @app.before_serving
    async def _open_engine() -> None:
        if "db_engine" not in app.extensions:
            engine = make_engine(
                app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"]
            )
            app.extensions["db_engine"] = engine
            app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
            app.extensions[_OWNS_ENGINE_KEY] = True

    @app.after_serving
    async def _close_engine() -> None:
        # An engine handed to the app before it started (a test's, shared with the test's
        # own sessions) is closed by whoever made it, once their sessions are closed too.
        # Disposing of it here would orphan a connection such a session still has checked
        # out: it goes back to the discarded pool and is never closed, only collected.
        if not app.extensions.pop(_OWNS_ENGINE_KEY, False):
            return
        engine = app.extensions.pop("db_engine", None)
        app.extensions.pop("db_sessionmaker", None)
        if engine is not None:
            await engine.dispose()

    @app.after_request
    async def _commit_on_success(response: Any) -> Any:
        session: AsyncSession | None = g.pop("db_session", None)
        if session is not None:
            commit = response.status_code < 400
            await run_to_completion(_end(session, commit=commit), what="ending the session")
        return response

    @app.teardown_request
    async def _rollback_on_error(_exc: BaseException | None) -> None:
        # Reached with a session still open only when the request failed before a response,
        # or was cancelled (its client left before sending the whole request): the rollback
        # and the close are seen through all the same.
        session: AsyncSession | None = g.pop("db_session", None)
        if session is not None:
            await run_to_completion(_end(session, commit=False), what="ending the session")


async def _end(session: AsyncSession, *, commit: bool) -> None:
    """Commit or roll back, then give the connection back to the pool.

    Awaited through `run_to_completion()`: a cancellation landing here would leave the
    connection half reset or half closed (SQLAlchemy's pool then logs "Exception closing
    connection ... CancelledError") and, for a commit, its outcome unknown to us.
    """
    try:
        if commit:
            await session.commit()
        else:
            await session.rollback()
    finally:
        await session.close()


def get_session() -> AsyncSession:
    """This request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def engine_of(app: Quart) -> AsyncEngine:
    return app.extensions["db_engine"]
