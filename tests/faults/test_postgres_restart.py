"""PostgreSQL restarted under a stream of shoppers checking out.

A cluster of the test's own (initdb, pg_ctl, a free port; never the machine's), migrated and
seeded; the app under hypercorn on it, with a Redis of its own for the event stream. Shoppers
open a shop, add a product, book a place and check out, four at a time; after the first few
have checked out, PostgreSQL is stopped (`pg_ctl stop -m immediate`: as a crash, connections
cut mid-transaction), kept down a few seconds, and started again.

Asserted: every answer during the outage is the 503 page (never a 500, never a trace in a
body or the log); the service is ready again within seconds by itself; nothing is half-
written (orders have their items, held places belong to existing orders, one order.created
per order and no event without its order, every event on the stream); each shopper has at
most one order, and no shopper whose order exists was last told that nothing was ordered.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.errors import DATABASE_UNREACHABLE_MESSAGE
from tests.faults.conftest import migrate, seed_demo_site
from tests.faults.processes import ThrowawayPostgres, postgres_bin, run_as_postgres
from tests.faults.shopper import NOTHING_DONE, Seen, Shopper
from tests.faults.stored import Stored, stream_event_ids

SHOPPERS = 16
AT_ONCE = 4
RESTART_AT_CHECKOUT = 6  # PostgreSQL stops as the sixth shopper presses Check out
STAGGER_SECONDS = 0.4
DOWN_SECONDS = 3.0
RECOVERY_BOUND_SECONDS = 10.0
JOURNEY_SECONDS = 90.0  # each shopper gives up after this (bounded, generous: a busy CI)
SHOPS = ("the-bakery", "community-garden")


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("needs PostgreSQL's binaries (initdb, pg_ctl) under /usr/lib/postgresql")
    base = Path(tempfile.mkdtemp(prefix="cart-faults-pg-"))
    run_as = run_as_postgres(base)
    if isinstance(run_as, str):
        shutil.rmtree(base)
        pytest.skip(run_as)
    cluster = ThrowawayPostgres(bin_dir, base, run_as)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            try:
                cluster.stop("immediate")
            except Exception:  # noqa: BLE001 - best effort: the directory goes anyway
                pass
        shutil.rmtree(base, ignore_errors=True)


async def _journey(shopper: Shopper, slug: str, *, pressing: Callable[[], None]) -> Seen:
    """Shop, add, book, check out (`pressing()` just before): the last page it led to."""
    deadline = time.monotonic() + JOURNEY_SECONDS
    await shopper.fill_cart(slug, deadline=deadline)
    action, fields = await shopper.checkout_form(slug, deadline=deadline)
    pressing()
    return await shopper.patiently("POST", action, fields, deadline=deadline)


async def _watch_readiness(url: str, stop: asyncio.Event, seen: list[tuple[float, int]]) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=5) as client:
        while not stop.is_set():
            try:
                status = (await client.get(url + "/readyz")).status_code
            except httpx.TransportError:
                status = 0
            seen.append((time.monotonic(), status))
            await asyncio.sleep(0.2)


async def test_postgres_restarted_during_a_stream_of_checkouts(
    throwaway_postgres: ThrowawayPostgres,
    redis_server: Any,
    start_app: Callable[..., Any],
    stored: Callable[[str], Stored],
    say: Callable[[str], None],
) -> None:
    cluster = throwaway_postgres
    began = time.monotonic()
    migrate(cluster.url)
    await seed_demo_site(cluster.url)
    migrated = time.monotonic()
    app = start_app(database_url=cluster.url, redis_url=redis_server.url)
    say(
        f"PostgreSQL {cluster.bin_dir.parent.name} of the test's own on port {cluster.port} "
        f"(migrated and seeded in {migrated - began:.1f} s); app {app.url} ready in "
        f"{time.monotonic() - migrated:.1f} s; {SHOPPERS} shoppers, {AT_ONCE} at a time"
    )
    shopping = time.monotonic()

    shoppers = [Shopper(f"shopper-{n}", app.url) for n in range(SHOPPERS)]
    last_pages: dict[str, Seen] = {}
    failures: list[str] = []
    queue: asyncio.Queue[Shopper] = asyncio.Queue()
    for shopper in shoppers:
        queue.put_nowait(shopper)
    pulled = asyncio.Event()  # PostgreSQL goes as a Check out is pressed
    pressed = 0

    def pressing() -> None:
        nonlocal pressed
        pressed += 1
        if pressed == RESTART_AT_CHECKOUT:
            pulled.set()

    async def worker(n: int) -> None:
        await asyncio.sleep(n * STAGGER_SECONDS)  # the shoppers at different steps
        while not queue.empty():
            shopper = queue.get_nowait()
            slug = SHOPS[int(shopper.name.rsplit("-", 1)[1]) % len(SHOPS)]
            try:
                last_pages[shopper.name] = await _journey(shopper, slug, pressing=pressing)
            except Exception as error:  # noqa: BLE001 - every shopper's fate is reported
                failures.append(f"{shopper.name}: {type(error).__name__}: {error}")

    times: dict[str, float] = {}

    async def restart() -> None:
        await pulled.wait()
        times["stop"] = time.monotonic()
        times["stop_wall"] = time.time()
        await asyncio.to_thread(cluster.stop, "immediate")
        times["stopped"] = time.monotonic()
        await asyncio.sleep(DOWN_SECONDS)
        times["start"] = time.monotonic()
        await asyncio.to_thread(cluster.start)
        times["started"] = time.monotonic()

    readiness: list[tuple[float, int]] = []
    stop_watching = asyncio.Event()
    watcher = asyncio.create_task(_watch_readiness(app.url, stop_watching, readiness))
    try:
        await asyncio.gather(restart(), *(worker(n) for n in range(AT_ONCE)))
        # Your orders, for each shopper, once all is over: who has which order.
        deadline = time.monotonic() + JOURNEY_SECONDS
        theirs = {s.name: await s.orders(deadline=deadline) for s in shoppers}
    finally:
        stop_watching.set()
        await watcher
        for shopper in shoppers:
            await shopper.close()

    say(f"the shoppers took {time.monotonic() - shopping:.1f} s")

    # --- What the shoppers saw ----------------------------------------------------------
    everything = [seen for shopper in shoppers for seen in shopper.seen]
    statuses = Counter(seen.status for seen in everything)
    unavailable = [seen for seen in everything if seen.status == 503]
    during = [s for s in everything if times["stop"] <= s.at <= times["started"]]
    say(
        f"PostgreSQL down (stop -m immediate, {DOWN_SECONDS:g} s, start) from "
        f"+0.0 s to +{times['started'] - times['stop']:.1f} s; "
        f"{len(during)} requests answered meanwhile"
    )
    say(f"answers: {dict(sorted(statuses.items()))} over {len(everything)} requests")
    met = Counter(f"{s.method} {_step(s.url)}" for s in unavailable)
    say(f"503s by step: {dict(met)}")
    for seen in unavailable[:1]:
        say(f"a 503 during the outage read: {seen.says()!r}")
    up = [at for at, status in readiness if status == 200 and at >= times["started"]]
    ready_after = (up[0] - times["started"]) if up else None
    first_ok = min(
        (s.at for s in everything if s.at >= times["started"] and s.status in (200, 303)),
        default=None,
    )
    say(
        "recovered by itself: /readyz 200 "
        + (f"{ready_after:.1f} s" if ready_after is not None else "never")
        + " after PostgreSQL was up; first shopper page "
        + (f"{first_ok - times['started']:.1f} s after" if first_ok is not None else "never")
    )
    outcomes = Counter(_outcome(page) for page in last_pages.values())
    say(f"last page after checkout: {dict(outcomes)}")

    assert not failures, failures
    assert statuses[500] == 0, [s.url for s in everything if s.status == 500]
    assert unavailable, "no request met the outage: it proved nothing"
    for seen in unavailable:
        assert DATABASE_UNREACHABLE_MESSAGE in seen.body, (seen.url, seen.says())
    assert not [s.url for s in everything if "Traceback" in s.body]
    assert set(statuses) <= {200, 302, 303, 503}, statuses
    assert ready_after is not None and ready_after < RECOVERY_BOUND_SECONDS, ready_after
    log = app.log()
    say(
        f"app log: {log.count('database unreachable on')} one-line 'database unreachable' "
        f"warnings, {log.count('Traceback')} tracebacks"
    )
    assert "Traceback" not in log, app.log_tail(80)

    # --- What was stored ----------------------------------------------------------------
    db = stored(cluster.url)
    drained = await db.drained(within=30)
    found = await db.integrity()
    say(found.line())
    on_stream = set(stream_event_ids(redis_server.url))
    event_ids = await db.event_ids()
    say(
        f"Redis stream: {len(on_stream)} entries; outbox drained "
        + (f"{drained:.1f} s after the shoppers were done" if drained is not None else "never")
        + f"; {len(event_ids - on_stream)} events missing from the stream"
    )
    assert found.half_written() == dict.fromkeys(found.half_written(), 0), found.half_written()
    assert drained is not None and not event_ids - on_stream

    orders = await db.orders()
    # The checkouts that met the outage: had the order been written before it (the form
    # sent again found it), or was it made by the form sent again?
    created = {
        ref: float(at)
        for ref, at in await db.rows(
            "SELECT public_ref, extract(epoch FROM created_at) FROM orders"
        )
    }
    met_outage = [
        s.name
        for s in shoppers
        if any(seen.status == 503 and seen.url.endswith("/checkout") for seen in s.seen)
    ]
    before = [n for n in met_outage if any(created[r] < times["stop_wall"] for r in theirs[n])]
    say(
        f"{len(met_outage)} checkouts met the outage: {len(before)} had written their order "
        f"before PostgreSQL stopped, {len(met_outage) - len(before)} had it written when "
        "their form was sent again; each shopper has one order"
    )
    owned = [ref for refs in theirs.values() for ref in refs]
    assert sorted(owned) == sorted(orders), "every order is some shopper's, and once"
    # Whatever a shopper with an order read from pressing Check out on (the last page above
    # all), none of it may say that nothing was ordered or changed.
    told_nothing = [
        shopper.name
        for shopper in shoppers
        if theirs[shopper.name]
        and any(NOTHING_DONE.search(seen.body) for seen in _from_checkout_on(shopper.seen))
    ]
    assert all(len(refs) <= 1 for refs in theirs.values()), theirs
    assert not told_nothing, told_nothing
    say(
        f"shoppers with an order: {sum(1 for r in theirs.values() if r)} of {SHOPPERS}; "
        f"told 'nothing was ordered' while their order exists: {len(told_nothing)}"
    )


def _from_checkout_on(seen: list[Seen]) -> list[Seen]:
    pressed = [n for n, s in enumerate(seen) if s.method == "POST" and s.url.endswith("/checkout")]
    return seen[pressed[0] :] if pressed else []


def _step(url: str) -> str:
    """The page or form a URL is, without its order, page or checkout."""
    path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
    for ending, step in (("/book", "/shop/<page>/book"), ("/checkout", "/cart/<page>/checkout")):
        if path.endswith(ending):
            return step
    for prefix, step in (
        ("/shop/", "/shop/<page>/"),
        ("/cart/add", "/cart/add"),
        ("/cart/", "/cart/<page>/"),
        ("/checkout/return/", "/checkout/return/<order>"),
        ("/sumup-sandbox/pay/", "/sumup-sandbox/pay/<checkout>"),
    ):
        if path.startswith(prefix):
            return step
    return path


def _outcome(page: Seen) -> str:
    if page.status == 200 and "/sumup-sandbox/pay/" in page.url:
        return "the payment page"
    if page.status == 200 and "/checkout/return/" in page.url:
        return "their saved order"
    return f"{page.status} {page.url.rsplit('/', 2)[-2] if '/' in page.url else page.url}"
