"""Real faults (`make test-faults`): PostgreSQL restarted, Redis stopped and frozen, SumUp
unreachable and slow, the app SIGKILLed, each done to real processes the tests start.

`make test` leaves this folder out (it starts servers and takes minutes); `make test-faults`
runs it with CART_FAULTS=1. PostgreSQL and Redis only: the PostgreSQL restart runs on a
cluster of its own (initdb/pg_ctl, PostgreSQL's binaries under /usr/lib/postgresql), the
other faults on TEST_DATABASE_URL (its public schema is dropped and made again: give it a
database of its own, CI's is `test_faults`); every Redis is a redis-server of the test's own.
What is missing is skipped with the reason.

What each shopper saw and what was stored are printed at the end of the run (the "faults"
section), so a CI log can be quoted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.config import PROJECT_ROOT
from shared.db import make_engine
from shared.models import Base

FAULTS_ENABLED = os.environ.get("CART_FAULTS") == "1"
if not FAULTS_ENABLED:
    collect_ignore_glob = ["*"]

REPORT_KEY = pytest.StashKey[dict[str, list[str]]]()
LOGS_KEY = pytest.StashKey[dict[str, str]]()


def pytest_report_header(config: pytest.Config) -> str | None:
    if FAULTS_ENABLED:
        return None
    return "tests/faults: the real faults run through `make test-faults` (CART_FAULTS=1)"


def in_a_thread(work: Callable[[], Any]) -> Any:
    """Blocking set-up (alembic runs its own event loop) off the test's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def migrate(url: str) -> None:
    """alembic upgrade head, as `manage.py migrate` does it."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    in_a_thread(lambda: command.upgrade(config, "head"))


async def seed_demo_site(url: str, *, places: int = 1000) -> None:
    """Empty tables, the demo site, and slots with room for every shopper of a test (a slot
    selling out is another test's subject)."""
    from bp.demo.seed import seed_demo_site_if_empty
    from shared.db import make_sessionmaker

    engine = make_engine(url)
    try:
        tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        async with make_sessionmaker(engine)() as session:
            assert await seed_demo_site_if_empty(session)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE calendar_slots SET places = :p"), {"p": places})
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """TEST_DATABASE_URL, its public schema made again and migrated by alembic, once."""
    url = os.environ.get("TEST_DATABASE_URL") or ""
    if not url or make_url(url).get_backend_name() != "postgresql":
        pytest.skip(
            "needs PostgreSQL: TEST_DATABASE_URL=postgresql+asyncpg://… (CI's: test_faults)"
        )

    async def _reset() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    in_a_thread(lambda: asyncio.run(_reset()))
    migrate(url)
    return url


@pytest.fixture
async def shop_database(postgres_database: str) -> str:
    """The test's database with the demo site seeded afresh."""
    await seed_demo_site(postgres_database)
    return postgres_database


@pytest.fixture
def work_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="cart-faults-"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def redis_server(work_dir: Path) -> Iterator[Any]:
    from tests.faults.processes import RedisServer

    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("needs redis-server (apt-get install redis-server)")
    server = RedisServer(executable, work_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_app(work_dir: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """start_app(database_url=..., redis_url=..., **settings): the app under hypercorn."""
    from tests.faults.processes import AppServer, app_env, free_port

    servers: list[Any] = []

    def start(*, database_url: str, redis_url: str | None = None, **settings: str) -> Any:
        port = free_port()
        var_dir = work_dir / f"var-{len(servers)}"
        var_dir.mkdir()
        env = app_env(
            origin=f"http://127.0.0.1:{port}",
            var_dir=var_dir,
            database_url=database_url,
            redis_url=redis_url,
            **settings,
        )
        server = AppServer(env=env, log_path=work_dir / f"app-{len(servers)}.log", port=port)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
        request.config.stash.setdefault(LOGS_KEY, {})[request.node.name] = server.log_tail(40)


@pytest.fixture
def say(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """A line of this fault's report (printed at the end of the run)."""
    lines = request.config.stash.setdefault(REPORT_KEY, {}).setdefault(request.node.name, [])

    def _say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    return _say


@pytest.fixture
async def stored() -> AsyncIterator[Callable[[str], Any]]:
    """stored(url): the counts of what the database holds (tests/faults/stored.py)."""
    from tests.faults.stored import Stored

    opened: list[Stored] = []

    def open_(url: str) -> Stored:
        found = Stored(url)
        opened.append(found)
        return found

    yield open_
    for found in opened:
        await found.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, None)
    if report:
        terminalreporter.section("faults: what the shoppers saw and what was stored")
        for test, lines in report.items():
            terminalreporter.write_line(f"{test}:")
            for line in lines:
                terminalreporter.write_line(f"  {line}")
    logs = config.stash.get(LOGS_KEY, None)
    if logs and exitstatus not in (0, 5):
        terminalreporter.section("faults: the app's log (last lines)")
        for test, tail in logs.items():
            terminalreporter.write_line(f"{test}:")
            terminalreporter.write_line(tail)
