"""Test harness: a real database migrated by alembic, an app per test, data factories.

The suite runs on PostgreSQL when TEST_DATABASE_URL is set (CI) and on a SQLite file
otherwise; REDIS_URL-dependent tests run when TEST_REDIS_URL is set.

Every test starts from empty tables. Tables are emptied rather than each test being
wrapped in a rolled-back transaction, because the app commits for real and the
concurrency tests need commits seen across several connections: one mechanism for all.
"""

from __future__ import annotations

import path_setup  # noqa: F401

import asyncio
import contextvars
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import models  # noqa: F401
from shared.config import PROJECT_ROOT, Settings, load_settings
from shared.db import make_engine, make_sessionmaker
from shared.events import OutboxEvent  # noqa: F401  (registers the outbox table)
from shared.http_client import HTTP_CLIENT_KEY
from shared.models import Base
from tests.factories import Factory

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
ON_POSTGRES = (
    bool(TEST_DATABASE_URL) and make_url(TEST_DATABASE_URL).get_backend_name() == "postgresql"
)

postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
redis_only = pytest.mark.skipif(not TEST_REDIS_URL, reason="needs Redis (TEST_REDIS_URL)")


def run_migrations(url: str, revision: str = "head") -> None:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, revision)


def reset_postgres_schema(url: str) -> None:
    async def _reset() -> None:
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(_reset())


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def database_url(var_dir: Path) -> Iterator[str]:
    """A database migrated to head by alembic, once for the whole run."""
    if ON_POSTGRES:
        assert TEST_DATABASE_URL
        reset_postgres_schema(TEST_DATABASE_URL)
        run_migrations(TEST_DATABASE_URL)
        yield TEST_DATABASE_URL
    else:
        url = f"sqlite+aiosqlite:///{var_dir / 'test.sqlite3'}"
        run_migrations(url)
        yield url


@pytest.fixture
def settings(database_url: str, var_dir: Path) -> Settings:
    env = {
        # Asked for explicitly: on PostgreSQL, or with SECRET_KEY set, an implicit
        # development mode refuses to start (shared/config.py).
        "APP_MODE": "development",
        "DATABASE_URL_ASYNC": database_url,
        "CART_VAR_DIR": str(var_dir),
        "SECRET_KEY": "t" * 32,
        # Tests run the dispatcher and the jobs themselves, step by step.
        "BACKGROUND_JOBS": "false",
        # Quart's test client calls itself `localhost`, not app_urls.cart's 127.0.0.1:8002:
        # no redirect to the one host name (tests/http/test_canonical_host.py turns it on).
        "CANONICAL_HOST_REDIRECT": "false",
        # The sandbox's checkouts in this app's memory, which the tests read and steer
        # directly (store.pay, store.now); tests/sumup/test_sandbox_database_store.py and
        # the served processes (e2e, multiprocess) use the database store.
        "SUMUP_SANDBOX_STORE": "memory",
    }
    if TEST_REDIS_URL:
        env["REDIS_URL"] = TEST_REDIS_URL
    return load_settings(env)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    await _empty_tables(engine)
    yield engine
    await engine.dispose()


async def _empty_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def factory(db: AsyncSession) -> Factory:
    return Factory(db)


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(settings)
    # The test's engine serves the app too, so the test sees exactly what the app wrote.
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    # Outgoing HTTP (to SumUp's sandbox, and the sandbox's webhooks back to us) goes
    # through ASGI into this same app: no network, and the same code path as production.
    app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ArrivingFromOutside(app)),
        base_url=settings.app_urls["cart"],
    )
    async with app.test_app() as test_app:
        yield test_app


class ArrivingFromOutside:
    """Runs an ASGI request in a context of its own, as one from the network would be.

    Called from inside a request, the app would otherwise see that request's context and
    reuse its app context, so both would share `g` and its database session: the inner
    request's end would commit and close the outer request's session.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await asyncio.create_task(self.app(scope, receive, send), context=contextvars.Context())


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def query_counter(engine: AsyncEngine) -> Iterator[QueryCounter]:
    """Counts the SQL statements sent through the test engine (the app's too)."""
    counter = QueryCounter()

    def _count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _count)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", _count)
