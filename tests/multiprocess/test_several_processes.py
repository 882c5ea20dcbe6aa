"""Three processes, one database: what one process guarantees holds across several.

Every request of the browser-like shoppers (browser.py: a cookie jar each) goes through the
round-robin proxy to the next process, and so do the app's own calls to the SumUp sandbox
and the sandbox's webhook: nothing a shopper does stays on one process. The figures go to
the end of the run's output (conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models import CartItem, Order, PaymentAttempt
from shared.db import make_engine, make_sessionmaker
from shared.events import OutboxEvent
from shared.models import CalendarEntry
from sumup.sandbox_db import DatabaseSandboxStore
from tests.factories import Factory
from tests.multiprocess.browser import Browser, Page
from tests.multiprocess.cluster import Cluster, cluster, in_a_thread
from tests.multiprocess.conftest import (
    CLUSTER_KEY,
    DATABASE_URL,
    ON_POSTGRES_AND_REDIS,
    REDIS_URL,
)
from tests.multiprocess.proxy import SERVED_BY

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES_AND_REDIS,
    reason="needs PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)",
)

SHOPPERS = 50
PLACES = 10
WEBHOOKS = 20
ADDS = 20
CLIENT_TIMEOUT_SECONDS = 120  # bounded; the machine may be busy
EVENTS_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Shop:
    loaf_id: int
    rye_id: int
    rolls_id: int
    slot_id: int


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, figures: list[str]
) -> Iterator[Cluster]:
    stream = f"coop:multiprocess:{uuid.uuid4().hex[:12]}"
    with cluster(
        tmp_path_factory.mktemp("multiprocess"),
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        stream=stream,
    ) as started:
        request.config.stash[CLUSTER_KEY] = started
        figures.append(
            f"{len(started.processes)} hypercorn processes (ports "
            f"{', '.join(str(p.port) for p in started.processes)}) behind the round-robin proxy "
            f"{started.url}; migrated and ready in {started.started_in_seconds:.1f} s"
        )
        yield started
        served = ", ".join(f"process {i}: {n}" for i, n in sorted(started.proxy.served.items()))
        figures.append(f"requests through the proxy, all checks: {served}")
        in_a_thread(_drop_stream(stream))


async def _drop_stream(stream: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.delete(stream)
    finally:
        await redis.aclose()


@pytest.fixture(scope="module")
def shop(running: Cluster) -> Shop:
    async def _seed() -> Shop:
        engine = make_engine(DATABASE_URL)
        try:
            async with make_sessionmaker(engine)() as session:
                factory = Factory(session)
                bakery = await factory.page(slug="bakery", title="Bakery")
                loaf = await factory.product(page_id=bakery.id, title="Sourdough", price_minor=350)
                rye = await factory.product(page_id=bakery.id, title="Rye", price_minor=300)
                rolls = await factory.product(page_id=bakery.id, title="Rolls", price_minor=90)
                classes = await factory.page(slug="classes", title="Classes")
                calendar = await factory.calendar(page_id=classes.id)
                slot = await factory.slot(
                    calendar_id=calendar.id, title="Bread class", places=PLACES
                )
                return Shop(loaf.id, rye.id, rolls.id, slot.id)
        finally:
            await engine.dispose()

    return in_a_thread(_seed())  # type: ignore[no-any-return]


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = make_engine(DATABASE_URL)
    yield engine
    await engine.dispose()


@asynccontextmanager
async def shopper(running: Cluster, name: str) -> AsyncIterator[Browser]:
    async with httpx.AsyncClient(
        timeout=CLIENT_TIMEOUT_SECONDS, headers={"User-Agent": f"multiprocess {name}"}
    ) as http:
        yield Browser(http)


def served_by(*pages: Page) -> Counter[str]:
    """Which processes answered these pages, redirects on the way included."""
    return Counter(
        r.headers.get(SERVED_BY, "?")
        for page in pages
        for r in (*page.response.history, page.response)
    )


async def test_a_shoppers_session_works_on_every_process_paying_included(
    running: Cluster, shop: Shop, engine: AsyncEngine, figures: list[str]
) -> None:
    started = time.monotonic()
    url = running.url
    async with shopper(running, "journey") as browser:
        shop_page = await browser.open(f"{url}/shop/bakery/")
        added = await browser.submit(shop_page.form("Add Sourdough"), quantity="2")
        cart = await browser.open(f"{url}/cart/bakery/")
        hosted = await browser.submit(cart.form("Check out and pay"))
        back = await browser.submit(hosted.form("Pay"))
        orders = await browser.open(f"{url}/orders/")
    pages = [shop_page, added, cart, hosted, back, orders]

    async with engine.connect() as connection:
        number, status = (await connection.execute(select(Order.number, Order.status))).one()
    assert "Added" in added.text and 'value="2"' in cart.text
    assert hosted.url.startswith(f"{url}/sumup-sandbox/pay/") and "Pay £7.00" in hosted.text
    assert back.url.startswith(f"{url}/checkout/return/")
    assert f"Thank you, order {number} is paid" in back.text and status == "paid"
    assert number in orders.text
    processes = served_by(*pages)
    assert set(processes) == {"0", "1", "2"}
    figures.append(
        f"one shopper's journey (shop, add, cart, check out, sandbox page, Pay, return page, "
        f"orders): {sum(processes.values())} answers from processes "
        f"{dict(sorted(processes.items()))}; order {number} paid; "
        f"{time.monotonic() - started:.1f} s"
    )


async def test_fifty_shoppers_race_for_ten_places_across_the_processes(
    running: Cluster, shop: Shop, engine: AsyncEngine, figures: list[str]
) -> None:
    url = running.url

    async def book(browser: Browser) -> Page:
        shop_page = await browser.open(f"{url}/shop/classes/")
        await browser.submit(shop_page.form("Book Bread class"))
        return await browser.open(f"{url}/cart/classes/")

    async def check_out(browser: Browser, cart: Page) -> Page:
        return await browser.submit(cart.form("Check out and pay"))

    async with _shoppers(running, SHOPPERS) as browsers:
        carts = await asyncio.gather(*(book(b) for b in browsers))
        started = time.monotonic()
        answers = await asyncio.gather(
            *(check_out(b, c) for b, c in zip(browsers, carts, strict=True))
        )
        took = time.monotonic() - started

    ordered = [a for a in answers if a.url.startswith(f"{url}/sumup-sandbox/pay/")]
    sold_out = [
        a
        for a in answers
        if a.url == f"{url}/cart/classes/"
        and "Sorry, Bread class is sold out: its last place has just been taken." in a.text
    ]
    async with engine.connect() as connection:
        entries = Counter(
            dict(
                (
                    await connection.execute(
                        select(CalendarEntry.state, func.count())
                        .where(CalendarEntry.slot_id == shop.slot_id)
                        .group_by(CalendarEntry.state)
                    )
                ).all()
            )
        )
    processes = served_by(*answers)
    assert (len(ordered), len(sold_out)) == (PLACES, SHOPPERS - PLACES)
    assert entries["ordered"] == PLACES and sum(entries.values()) == SHOPPERS
    assert len(set(processes)) == 3
    figures.append(
        f"{SHOPPERS} shoppers racing for a slot of {PLACES} places: {len(ordered)} ordered "
        f"(sent to the sandbox's page), {len(sold_out)} told 'sold out', "
        f"{SHOPPERS - len(ordered) - len(sold_out)} other; in the database "
        f"{entries['ordered']} entries ordered, {entries['pending']} pending; checkouts "
        f"answered by processes {dict(sorted(processes.items()))} in {took:.1f} s"
    )


@asynccontextmanager
async def _shoppers(running: Cluster, count: int) -> AsyncIterator[list[Browser]]:
    clients = [
        httpx.AsyncClient(
            timeout=CLIENT_TIMEOUT_SECONDS, headers={"User-Agent": f"multiprocess shopper {n}"}
        )
        for n in range(count)
    ]
    try:
        yield [Browser(client) for client in clients]
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


async def test_twenty_webhooks_for_one_checkout_across_the_processes_pay_it_once(
    running: Cluster, shop: Shop, engine: AsyncEngine, figures: list[str]
) -> None:
    url = running.url
    async with shopper(running, "webhooks") as browser:
        shop_page = await browser.open(f"{url}/shop/bakery/")
        await browser.submit(shop_page.form("Add Rye"))
        cart = await browser.open(f"{url}/cart/bakery/")
        hosted = await browser.submit(cart.form("Check out and pay"))
    checkout_id = hosted.url.rsplit("/", 1)[-1]
    # Paid at SumUp (the sandbox's store, as the hosted page would), its webhook not yet
    # sent: the 20 below are the first word any process hears of it.
    sandbox = DatabaseSandboxStore(lambda: engine)
    _checkout, paid = await sandbox.pay(checkout_id, succeed=True)
    async with engine.connect() as connection:
        order_ref, status = (
            await connection.execute(
                select(Order.public_ref, Order.status)
                .join(PaymentAttempt, PaymentAttempt.order_id == Order.id)
                .where(PaymentAttempt.sumup_checkout_id == checkout_id)
            )
        ).one()
    assert paid and status == "pending"

    notice = {"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout_id}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT_SECONDS) as sumup:
        answers = await asyncio.gather(
            *(sumup.post("/checkout/webhook", json=notice) for _ in range(WEBHOOKS))
        )
    took = time.monotonic() - started
    paid_events, waited = await _paid_events_once_delivered(running, engine, order_ref)

    async with engine.connect() as connection:
        final = await connection.scalar(select(Order.status).where(Order.public_ref == order_ref))
    processes = Counter(a.headers.get(SERVED_BY, "?") for a in answers)
    assert [a.status_code for a in answers] == [204] * WEBHOOKS
    assert final == "paid"
    assert len(paid_events) == 1
    assert len(set(processes)) == 3
    figures.append(
        f"{WEBHOOKS} concurrent webhooks for one paid checkout, answered by processes "
        f"{dict(sorted(processes.items()))} in {took:.1f} s: all 204; order paid; "
        f"order.paid entries on the Redis stream for it: {len(paid_events)} "
        f"(XRANGE, after its outbox was delivered, {waited:.1f} s)"
    )


async def _paid_events_once_delivered(
    running: Cluster, engine: AsyncEngine, order_ref: str
) -> tuple[list[dict[str, str]], float]:
    """The stream's order.paid entries for the order, read once its outbox events are all
    delivered by the processes' dispatchers (bounded wait), and how long that took."""
    started = time.monotonic()
    stream = running.env["EVENTS_STREAM"]
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        while True:
            async with engine.connect() as connection:
                waiting = await connection.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(
                        OutboxEvent.aggregate_id == order_ref, OutboxEvent.delivered_at.is_(None)
                    )
                )
                paid_rows = await connection.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(
                        OutboxEvent.aggregate_id == order_ref,
                        OutboxEvent.event_type == "order.paid",
                    )
                )
            if (waiting == 0 and paid_rows) or time.monotonic() - started > EVENTS_TIMEOUT_SECONDS:
                break
            await asyncio.sleep(0.5)
        entries: list[tuple[str, dict[str, str]]] = await redis.xrange(stream, "-", "+")  # type: ignore[assignment]
    finally:
        await redis.aclose()
    found = [
        fields
        for _id, fields in entries
        if fields.get("type") == "order.paid" and fields.get("aggregate_id") == order_ref
    ]
    for fields in found:
        assert json.loads(fields["payload"])["order_ref"] == order_ref
    return found, time.monotonic() - started


async def test_twenty_adds_of_one_product_by_one_shopper_make_quantity_twenty(
    running: Cluster, shop: Shop, engine: AsyncEngine, figures: list[str]
) -> None:
    url = running.url
    async with shopper(running, "adds") as browser:
        shop_page = await browser.open(f"{url}/shop/bakery/")
        add = shop_page.form("Add Rolls")
        started = time.monotonic()
        answers = await asyncio.gather(*(browser.submit(add, quantity="1") for _ in range(ADDS)))
        took = time.monotonic() - started
        cart = await browser.open(f"{url}/cart/bakery/")

    async with engine.connect() as connection:
        lines = (
            await connection.execute(
                select(CartItem.quantity).where(
                    CartItem.product_id == shop.rolls_id, CartItem.deleted_at.is_(None)
                )
            )
        ).all()
    processes = served_by(*answers)
    assert [a.status for a in answers] == [200] * ADDS
    assert [line.quantity for line in lines] == [ADDS]
    assert re.search(r'name="quantity-\d+"[^>]*value="20"', cart.response.text)
    assert len(set(processes)) == 3
    figures.append(
        f"{ADDS} concurrent adds of one product by one new shopper, answered by processes "
        f"{dict(sorted(processes.items()))} in {took:.1f} s: one cart line, quantity "
        f"{lines[0].quantity if lines else 0}"
    )


def test_the_processes_logged_no_error(running: Cluster, figures: list[str]) -> None:
    errors = [
        f"process {p.index}: {line}"
        for p in running.processes
        for line in Path(p.log_path).read_text(errors="replace").splitlines()
        if " ERROR " in line or "Traceback" in line
    ]
    assert errors == []
    figures.append("process logs: no ERROR line, no traceback")
