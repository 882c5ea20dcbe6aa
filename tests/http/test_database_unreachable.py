"""The database cannot be reached: every page answers 503 "try again in a moment".

Not 500, no trace, and never "nothing was changed": a form that was posted is told that an
order may have been saved and where to look. Three ways a database is out of reach: a
PostgreSQL that refuses connections, a SQLite file that cannot be opened, and one that
stays locked. (A PostgreSQL stopped and started again under a running app is in
test_database_outage.py.)
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.config import Settings
from shared.db import make_engine, make_sessionmaker
from shared.errors import DATABASE_UNREACHABLE_MESSAGE, MAY_HAVE_BEEN_SAVED, RETRY_AFTER_SECONDS
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, start_session

ANON_ID = "anon-" + "d" * 20
ORDER_REF = "A" * 22  # the shape of an order's public reference
CHECKOUT_FORM = {
    "csrf_token": TOKEN,
    "checkout_key": "k" * 32,
    "fingerprint": "0" * 32,
    "next": "/cart/bakery/",
}
PAGES = [
    "/cart/",
    "/cart/bakery/",
    "/orders/",
    f"/orders/{ORDER_REF}",
    f"/checkout/return/{ORDER_REF}",
]
FORMS = [
    ("/cart/add", {"csrf_token": TOKEN, "product_id": "1", "next": "/cart/"}),
    ("/cart/bakery/checkout", CHECKOUT_FORM),
    ("/cart/checkout", CHECKOUT_FORM),
    (f"/checkout/{ORDER_REF}/pay-again", {"csrf_token": TOKEN}),
]
# What the shopper must never read on these pages.
NEVER_SHOWN = (
    "nothing was changed",
    "traceback",
    "connectionrefusederror",
    "operationalerror",
    "sqlite3",
    "asyncpg",
    "127.0.0.1:1",
)


@pytest.fixture(params=["postgres_refuses", "sqlite_cannot_open", "sqlite_locked"])
async def dead_engine(request, tmp_path: Path) -> AsyncIterator[AsyncEngine]:  # type: ignore[no-untyped-def]
    locker = None
    if request.param == "postgres_refuses":
        # Nothing listens on port 1: every connection is refused at once.
        engine = make_engine("postgresql+asyncpg://cart:pw@127.0.0.1:1/nowhere")
    elif request.param == "sqlite_cannot_open":
        missing = tmp_path / "no" / "such" / "directory" / "cart.sqlite3"
        engine = create_async_engine(f"sqlite+aiosqlite:///{missing}")
    else:
        path = tmp_path / "locked.sqlite3"
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("CREATE TABLE held (x INTEGER)")
        locker.execute("BEGIN EXCLUSIVE")  # nobody else may read or write until it ends
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05})
    yield engine
    await engine.dispose()
    if locker is not None:
        locker.execute("ROLLBACK")
        locker.close()


@pytest.fixture
async def shop(settings: Settings, dead_engine: AsyncEngine):  # type: ignore[no-untyped-def]
    from app import create_app

    quart_app = create_app(settings.with_overrides(redis_url=None))
    quart_app.extensions["db_engine"] = dead_engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(dead_engine)
    async with quart_app.test_app() as test_app:
        yield test_app


async def _page(response) -> str:  # type: ignore[no-untyped-def]
    return await response.get_data(as_text=True)  # type: ignore[no-any-return]


def assert_try_again(response, html: str, what: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, what
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS), what
    assert response.headers["X-Content-Type-Options"] == "nosniff", what  # headers still set
    assert "<h1>Try again in a moment</h1>" in html, what
    assert DATABASE_UNREACHABLE_MESSAGE in html, what
    assert not [word for word in NEVER_SHOWN if word in html.lower()], what


def assert_one_line_each(caplog, requests: list[str]) -> None:  # type: ignore[no-untyped-def]
    """One warning per request, without a trace; no trace logged by anyone."""
    lines = [r for r in caplog.records if r.getMessage().startswith("database unreachable on")]
    assert [r.getMessage().split(":")[0] for r in lines] == [
        f"database unreachable on {request}" for request in requests
    ]
    assert all(r.levelno == logging.WARNING for r in lines)
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


async def test_every_page_answers_503_try_again_in_a_moment(shop, caplog) -> None:  # type: ignore[no-untyped-def]
    client = shop.test_client()
    await start_session(client, ANON_ID)

    with caplog.at_level(logging.INFO):
        for path in PAGES:
            response = await client.get(path)
            html = await _page(response)
            assert_try_again(response, html, path)
            # A page that was only read claims nothing about orders.
            assert MAY_HAVE_BEEN_SAVED not in html, path

    assert_one_line_each(caplog, [f"GET {path}" for path in PAGES])


async def test_every_form_answers_503_and_says_an_order_may_have_been_saved(shop, caplog) -> None:  # type: ignore[no-untyped-def]
    client = shop.test_client()
    await start_session(client, ANON_ID)

    with caplog.at_level(logging.INFO):
        for action, form in FORMS:
            response = await client.post(action, form=form)
            html = await _page(response)
            assert_try_again(response, html, action)
            # The write may have committed before the database went: say where to look.
            assert MAY_HAVE_BEEN_SAVED in html, action
            assert '<a href="/orders/">Your orders</a>' in html, action

    assert_one_line_each(caplog, [f"POST {action}" for action, _ in FORMS])


async def test_signing_in_during_the_outage_answers_503(shop) -> None:  # type: ignore[no-untyped-def]
    client = shop.test_client()
    # Adopting the anonymous cart (before any page) is the first thing that needs the database.
    await start_session(client, ANON_ID, user_id=7)
    response = await client.get("/cart/")
    assert_try_again(response, await _page(response), "adoption")


async def test_json_clients_get_json_503(shop) -> None:  # type: ignore[no-untyped-def]
    client = shop.test_client()
    await start_session(client, ANON_ID)
    headers = {"Accept": "application/json"}

    read = await client.get("/cart/summary.json", headers=headers)
    added = await client.post(
        "/cart/add", form={"csrf_token": TOKEN, "product_id": "1"}, headers=headers
    )

    assert read.status_code == 503 and read.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert await read.get_json() == {
        "error": "Try again in a moment",
        "message": DATABASE_UNREACHABLE_MESSAGE,
    }
    assert added.status_code == 503
    body: dict[str, Any] = await added.get_json()
    assert body["message"] == f"{DATABASE_UNREACHABLE_MESSAGE} {MAY_HAVE_BEEN_SAVED}"


async def test_the_probes_still_say_what_they_said(shop, request) -> None:  # type: ignore[no-untyped-def]
    client = shop.test_client()
    ready = await client.get("/readyz")
    if request.node.callspec.params["dead_engine"] == "sqlite_locked":
        # SELECT 1 reads no table, so a lock does not stop it: the file is there, and the
        # pages' 503 is a moment's wait, not an instance to take out of service.
        assert ready.status_code == 200
    else:
        assert ready.status_code == 503
        assert await ready.get_json() == {
            "status": "unavailable",
            "checks": {"database": "failing"},
        }
    assert (await client.get("/healthz")).status_code == 200


async def test_a_commit_lost_at_the_request_end_answers_503_with_one_log_line(  # type: ignore[no-untyped-def]
    client, engine: AsyncEngine, factory: Factory, caplog
) -> None:
    """The request's own commit (after the page is made) fails as the database goes away:
    Quart's trace of an error in finishing a request is replaced by the one line."""
    await factory.page(slug="bakery", title="Bakery")
    await start_session(client, ANON_ID)
    failures = []

    def _connection_lost(_conn) -> None:  # type: ignore[no-untyped-def]
        if not failures:
            failures.append("COMMIT")
            raise sa_exc.OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))

    event.listen(engine.sync_engine, "commit", _connection_lost)
    try:
        with caplog.at_level(logging.INFO):
            response = await client.get("/cart/bakery/")
    finally:
        event.remove(engine.sync_engine, "commit", _connection_lost)

    assert failures == ["COMMIT"]
    assert_try_again(response, await _page(response), "lost commit")
    assert_one_line_each(caplog, ["GET /cart/bakery/"])
    # The database is back: so is the page.
    assert (await client.get("/cart/bakery/")).status_code == 200
