"""Clients going away mid-request (issue 10), many at once, to the app under hypercorn on
PostgreSQL and Redis: nothing in the app's log above INFO, no connection leaked or left in a
transaction, and the requests after it all answered.

Hypercorn tells the app when a client disconnects, and Quart then cancelled the request's
task wherever it was: in a query, in opening a connection (asyncpg's SSL negotiation left
"Future exception was never retrieved ... unexpected connection_lost() call"), or in the
session's end (SQLAlchemy's pool: "Exception closing connection ... CancelledError", with a
trace). Every load run's end did that. Now a request whose client leaves once it has sent
it is finished and its response dropped (shared/disconnect.py), with one INFO line.

Each round, the app's connections are first closed by the server (pg_terminate_backend, as
a PostgreSQL restart or an idle timeout would), so that the round's first requests open new
connections while their clients leave; then raw sockets send a request (a cart page, the
overview, an add-to-cart) and close (half of them with a reset) after 0 to 300 ms, and
shoppers with keep-alive connections are stopped all at once mid-request, as wrk does at its
end.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from tests.faults.shopper import Shopper

POOL_SIZE = 5
ROUNDS = 4
SOCKETS_PER_ROUND = 120
LEAVE_WITHIN_SECONDS = 0.3
KEEP_ALIVE_SHOPPERS = 24
KEEP_ALIVE_SECONDS = 2.0
SETTLE_WITHIN_SECONDS = 90.0
NORMAL_REQUESTS = 200


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _app_connections(dsn: str) -> dict[str, int]:
    """The app's connections to the database by state (this check's own left out)."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT coalesce(state, '?') AS state, count(*) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' GROUP BY 1"
        )
        return {row["state"]: int(row["n"]) for row in rows}
    finally:
        await connection.close()


async def _close_the_apps_connections(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
        )
    finally:
        await connection.close()


async def _settled(dsn: str, *, within: float) -> dict[str, int] | None:
    """The app's connections once none is busy or inside a transaction for a second (the
    requests of the clients that left have finished), or None."""
    deadline = time.monotonic() + within
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        states = await _app_connections(dsn)
        if set(states) <= {"idle"}:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 1.0:
                return states
        else:
            quiet_since = None
        await asyncio.sleep(0.2)
    return None


def _raw_request(port: int, method: str, path: str, cookie: str, body: bytes = b"") -> bytes:
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Cookie: {cookie}",
    ]
    if body:
        head += [
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
        ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


async def _send_and_leave(port: int, request: bytes, after: float, reset: bool) -> None:
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        writer.write(request)
        await writer.drain()
        await asyncio.sleep(after)
    except OSError:
        pass
    finally:
        if reset:
            writer.transport.abort()  # RST: gone at once
        else:
            writer.close()


async def _keep_alive_shopper(base: str, cookie: str, add: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"Cookie": cookie}, timeout=30) as client:
        while True:
            await client.get("/cart/the-bakery/")
            await client.post("/cart/add", data=add)
            await client.get("/cart/")


async def test_clients_leaving_mid_request_leave_no_error_and_no_broken_connection(
    shop_database: str,
    redis_server: Any,
    start_app: Callable[..., Any],
    say: Callable[[str], None],
) -> None:
    app = start_app(
        database_url=shop_database,
        redis_url=redis_server.url,
        CANONICAL_HOST_REDIRECT="false",
        DATABASE_POOL_SIZE=str(POOL_SIZE),
    )
    dsn = _dsn(shop_database)
    shopper = Shopper("leaving", app.url)
    try:
        await shopper.open_shop("the-bakery", deadline=time.monotonic() + 30)
        assert shopper.csrf and shopper.products
        added = await shopper.add(shopper.products[0], deadline=time.monotonic() + 30)
        assert added.status == 200, added.says()
        cookie = "; ".join(f"{k}={v}" for k, v in shopper.client.cookies.items())
    finally:
        await shopper.close()
    add = {"csrf_token": shopper.csrf, "product_id": str(shopper.products[0]), "quantity": "1"}
    requests = [
        _raw_request(app.port, "GET", "/cart/the-bakery/", cookie),
        _raw_request(app.port, "GET", "/cart/", cookie),
        _raw_request(app.port, "POST", "/cart/add", cookie, urlencode(add).encode("ascii")),
    ]

    began = time.monotonic()
    chance = random.Random(10)
    closed = 0
    for _ in range(ROUNDS):
        # Once the last round's requests are done: closing a connection in use would be a
        # database failure of its own (a 503 and its WARNING line), not this test's subject.
        assert await _settled(dsn, within=SETTLE_WITHIN_SECONDS) is not None
        closed += await _close_the_apps_connections(dsn)
        await asyncio.gather(
            *(
                _send_and_leave(
                    app.port,
                    requests[i % len(requests)],
                    chance.uniform(0, LEAVE_WITHIN_SECONDS),
                    reset=bool(i % 2),
                )
                for i in range(SOCKETS_PER_ROUND)
            )
        )
        shoppers = [
            asyncio.create_task(_keep_alive_shopper(app.url, cookie, add))
            for _ in range(KEEP_ALIVE_SHOPPERS)
        ]
        await asyncio.sleep(KEEP_ALIVE_SECONDS)
        for task in shoppers:
            task.cancel()  # wrk's end: every connection closed, most of them mid-request
        await asyncio.gather(*shoppers, return_exceptions=True)
    say(
        f"{ROUNDS} rounds of {SOCKETS_PER_ROUND} clients leaving 0-{LEAVE_WITHIN_SECONDS:g} s "
        f"after sending and {KEEP_ALIVE_SHOPPERS} keep-alive shoppers stopped mid-request, "
        f"the app's connections closed by the server {closed} times, in "
        f"{time.monotonic() - began:.1f} s"
    )

    settled = await _settled(dsn, within=SETTLE_WITHIN_SECONDS)
    assert settled is not None, f"the app's connections stayed busy: {await _app_connections(dsn)}"
    say(f"then the app's connections: {settled} (pool of {POOL_SIZE})")

    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=app.url, headers={"Cookie": cookie}, timeout=30) as c:
        for start in range(0, NORMAL_REQUESTS, 8):
            answers = await asyncio.gather(
                *(
                    c.get("/cart/the-bakery/" if i % 2 else "/cart/")
                    for i in range(start, min(start + 8, NORMAL_REQUESTS))
                )
            )
            statuses += [answer.status_code for answer in answers]
    after = await _app_connections(dsn)
    say(f"{statuses.count(200)} of {NORMAL_REQUESTS} requests after it answered 200")
    say(f"the app's connections after them: {after}")
    assert statuses == [200] * NORMAL_REQUESTS
    assert sum(after.values()) <= POOL_SIZE, after
    assert not any(state.startswith("idle in transaction") for state in after), after

    log = app.log()
    went_away = log.count("client went away")
    bad = [
        line
        for line in log.splitlines()
        if " ERROR " in line
        or " CRITICAL " in line
        or " WARNING " in line
        or line.startswith("Traceback")
        or "Future exception was never retrieved" in line
        or "Task exception was never retrieved" in line
    ]
    say(f"the app's log: {went_away} 'client went away' INFO lines, {len(bad)} above INFO")
    assert bad == [], "\n".join(bad[:20])
