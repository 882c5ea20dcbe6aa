"""A client that goes away mid-request (issue 10): no error in the log, no connection left in
a bad state, and the request's work done whole or not at all.

The request is sent to the app as ASGI, as hypercorn sends it, and the client's disconnect is
delivered while the handler is inside the database: held there by an event listener (which
runs in SQLAlchemy's greenlet, so it can wait) until the disconnect has been seen. Quart
cancels the handler when the server says the client has gone; the cancellation then landed
in a query, a connect or the session's end, and SQLAlchemy's pool and asyncpg logged errors
(tests/faults/test_client_disconnect.py shows that against a real hypercorn). On SQLite and,
with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from quart import Response
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_

from models import CartItem
from shared.db import get_session, make_engine
from tests.factories import Factory
from tests.http.raw_asgi import session_cookie

TOKEN = "disconnect-csrf-token-" + "z" * 20
ANON_ID = "anon-" + "g" * 20
WAIT_SECONDS = 10


@pytest.fixture
async def bakery(factory: Factory) -> dict[str, int]:
    page = await factory.page(slug="bakery", title="Bakery")
    bread = await factory.product(page_id=page.id, title="Bread", price_minor=250)
    return {"page": page.id, "bread": bread.id}


async def committed_lines(database_url: str) -> int:
    """The cart lines committed, as a connection of another engine sees them."""
    other = make_engine(database_url)
    try:
        async with other.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(CartItem)) or 0)
    finally:
        await other.dispose()


async def left_in_a_transaction(engine: AsyncEngine) -> int:
    """How many of the connections waiting in the pool are still inside a transaction: a
    connection given back half way through its reset (the commit, rollback or close cut
    short) keeps what it was doing, and the next request to get it carries on in it."""
    held = [await engine.connect() for _ in range(engine.pool.checkedin())]  # type: ignore[attr-defined]
    try:
        found = 0
        for connection in held:
            driver = (await connection.get_raw_connection()).driver_connection
            if hasattr(driver, "is_in_transaction"):  # asyncpg
                found += bool(driver.is_in_transaction())
            else:  # aiosqlite
                found += bool(driver.in_transaction)
        return found
    finally:
        for connection in held:
            await connection.close()


class HeldStatement:
    """Holds the first statement matching `wanted` until `release()`: the handler is then
    awaiting inside the database."""

    def __init__(self, engine: AsyncEngine, wanted: str) -> None:
        self.engine = engine
        self.wanted = wanted
        self.reached = asyncio.Event()
        self._go_on = asyncio.Event()

    def _hold(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.wanted in statement and not self.reached.is_set():
            self.reached.set()
            await_(self._go_on.wait())

    def release(self) -> None:
        self._go_on.set()

    def __enter__(self) -> HeldStatement:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._hold)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._hold)


def add_to_cart_scope(app: Any, body: bytes) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8002"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
        (b"cookie", session_cookie(app, {"csrf_token": TOKEN, "cart_anon_id": ANON_ID})),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/cart/add",
        "raw_path": b"/cart/add",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8002),
        "extensions": {},
    }


class LeavingClient:
    """Sends `parts` of the body, then disconnects once `leave_when` is set."""

    def __init__(self, parts: list[dict[str, Any]], leave_when: asyncio.Event) -> None:
        self._parts = list(parts)
        self._leave_when = leave_when
        self.left = asyncio.Event()
        self.received: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self._parts:
            return self._parts.pop(0)
        if not self.left.is_set():
            await self._leave_when.wait()
            self.left.set()
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()  # a second disconnect is never asked for by a server
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        self.received.append(message)


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO):
        yield caplog


def errors_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]


def went_away_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shared.disconnect"]


async def settle() -> None:
    for _ in range(10):  # Quart's receiver returns, its handler is (or is not) cancelled
        await asyncio.sleep(0)


async def test_a_client_leaving_while_its_request_is_in_the_database_changes_nothing_for_it(
    app: Any,
    engine: AsyncEngine,
    database_url: str,
    bakery: dict[str, int],
    log_lines: pytest.LogCaptureFixture,
) -> None:
    """The add-to-cart is held inside its INSERT while the client disconnects: the request
    still finishes (the line committed, the connection back in the pool), its response goes
    nowhere, and the log says so in one INFO line, with no error."""
    body = f"csrf_token={TOKEN}&product_id={bakery['bread']}&quantity=1&next=/cart/".encode()
    with HeldStatement(engine, "INSERT INTO cart_items") as held:
        client = LeavingClient(
            [{"type": "http.request", "body": body, "more_body": False}], held.reached
        )
        request = asyncio.create_task(
            app.app(add_to_cart_scope(app.app, body), client.receive, client.send)
        )
        await asyncio.wait_for(client.left.wait(), WAIT_SECONDS)
        await settle()
        held.release()
        await asyncio.wait_for(request, WAIT_SECONDS)

    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await committed_lines(database_url) == 1
    assert await left_in_a_transaction(engine) == 0
    assert client.received == []  # nothing was written to a client that is not there
    assert errors_in(log_lines) == []
    assert went_away_lines(log_lines) == [
        "client went away before the response: POST /cart/add finished with 302 after "
        + went_away_lines(log_lines)[0].split(" after ")[1]
    ]
    assert went_away_lines(log_lines)[0].endswith("response dropped")


async def test_a_client_leaving_before_its_whole_request_arrived_is_not_handled(
    app: Any,
    engine: AsyncEngine,
    database_url: str,
    bakery: dict[str, int],
    log_lines: pytest.LogCaptureFixture,
) -> None:
    """Half the form, then the client goes: the request is given up (Quart cancels it while it
    waits for the rest), nothing is stored and the pool is as it was."""
    body = f"csrf_token={TOKEN}&product_id={bakery['bread']}&quantity=1&next=/cart/".encode()
    half_sent = asyncio.Event()
    client = LeavingClient(
        [{"type": "http.request", "body": body[:20], "more_body": True}], half_sent
    )
    request = asyncio.create_task(
        app.app(add_to_cart_scope(app.app, body), client.receive, client.send)
    )
    await settle()
    half_sent.set()
    await asyncio.wait_for(request, WAIT_SECONDS)

    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await committed_lines(database_url) == 0
    assert await left_in_a_transaction(engine) == 0
    assert client.received == []
    assert errors_in(log_lines) == []
    assert went_away_lines(log_lines) == [
        "client went away before sending its whole request: POST /cart/add (not handled)"
    ]


@pytest.mark.parametrize("status", [200, 500])
async def test_the_session_end_is_seen_through_when_the_request_is_cancelled_during_it(
    app: Any,
    engine: AsyncEngine,
    database_url: str,
    bakery: dict[str, int],
    log_lines: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """The request task cancelled while its session commits (a success) or rolls back (an
    error page): the commit or rollback and the close still run to their end, so the line is
    stored or not as the response said and the connection is back in the pool, in a known
    state; then the cancellation goes on."""
    ending = "COMMIT" if status < 400 else "ROLLBACK"
    held_at = asyncio.Event()
    go_on = asyncio.Event()

    def _hold(_conn: Any) -> None:
        held_at.set()
        await_(go_on.wait())

    async def a_request_that_wrote() -> None:
        async with app.app.test_request_context("/cart/", method="GET"):
            session = get_session()
            session.add(CartItem(session_id=ANON_ID, product_id=bakery["bread"], quantity=1))
            await session.flush()
            await app.app.process_response(Response("done", status=status))

    event.listen(engine.sync_engine, ending.lower(), _hold)
    try:
        request = asyncio.create_task(a_request_that_wrote())
        await asyncio.wait_for(held_at.wait(), WAIT_SECONDS)
        request.cancel()
        await settle()
        go_on.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(request, WAIT_SECONDS)
    finally:
        go_on.set()
        event.remove(engine.sync_engine, ending.lower(), _hold)

    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await committed_lines(database_url) == (1 if status < 400 else 0)
    assert await left_in_a_transaction(engine) == 0
    assert errors_in(log_lines) == []
