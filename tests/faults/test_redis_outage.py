"""Redis stopped, then frozen (SIGSTOP), under the app: carts and checkout go on.

A redis-server of the test's own (a free port, no RDB, no AOF) is the app's REDIS_URL; the
app's dispatcher runs in the background as deployed. While Redis is away, shoppers fill
carts, check out and pay in the sandbox as ever; /readyz says Redis is failing (503); the
events wait in the outbox. The outage lasts until the backoff of the waiting events has
grown past the bound (their next retry 12 s away or more), so that a prompt drain can only
come from the dispatcher releasing them once Redis answers: from Redis back to the backlog
drained is measured and held under 10 s. Then the same with Redis frozen: it accepts
connections and answers nothing until SIGCONT.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.faults.shopper import Seen, Shopper
from tests.faults.stored import Stored, stream_event_ids

DRAIN_BOUND_SECONDS = 10.0
BACKOFF_AHEAD_SECONDS = 12.0  # Redis comes back once the next retry is at least this far off
OUTAGE_CAP_SECONDS = 40.0
FREEZE_SECONDS = 8.0
JOURNEY_SECONDS = 60.0


async def _shop_check_out_and_pay(shopper: Shopper, slug: str) -> Seen:
    """The whole purchase, paid with the sandbox's test card: the page it ends on."""
    deadline = time.monotonic() + JOURNEY_SECONDS
    await shopper.fill_cart(slug, deadline=deadline)
    payment_page = await shopper.check_out(slug, deadline=deadline)
    assert payment_page.status == 200 and shopper.sent_to_sumup, payment_page.says()
    return await shopper.sandbox_pay(shopper.sent_to_sumup[-1])


async def _readiness(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url + "/readyz")
        return response.status_code, response.json()


async def _until_drained(db: Stored, redis_url: str, *, within: float) -> float | None:
    """Seconds until no outbox event is left undelivered and every event the outbox held
    undelivered when called is on the stream (a restarted Redis has lost what was there)."""
    began = time.monotonic()
    waiting = {
        row[0]
        for row in await db.rows("SELECT event_id FROM outbox_events WHERE delivered_at IS NULL")
    }
    while time.monotonic() - began < within:
        if not await db.scalar("SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL"):
            if waiting <= set(stream_event_ids(redis_url)):
                return time.monotonic() - began
        await asyncio.sleep(0.1)
    return None


async def _backlog(db: Stored) -> tuple[int, int, float | None]:
    """(waiting events, most attempts, seconds until the earliest retry is due)."""
    waiting, attempts, due_in = (
        await db.rows(
            "SELECT count(*), coalesce(max(attempts), 0), "
            "extract(epoch FROM min(next_attempt_at) - now()) "
            "FROM outbox_events WHERE delivered_at IS NULL AND attempts > 0"
        )
    )[0]
    return int(waiting), int(attempts), None if due_in is None else float(due_in)


async def test_redis_stopped_then_frozen_carts_and_checkout_keep_working(
    shop_database: str,
    redis_server: Any,
    start_app: Callable[..., Any],
    stored: Callable[[str], Stored],
    say: Callable[[str], None],
) -> None:
    app = start_app(database_url=shop_database, redis_url=redis_server.url)
    db = stored(shop_database)
    shoppers = [Shopper(f"shopper-{n}", app.url) for n in range(5)]
    try:
        # Before: paid, and both events on the stream.
        paid = await _shop_check_out_and_pay(shoppers[0], "the-bakery")
        assert "is paid" in paid.says(), paid.says()
        assert await _until_drained(db, redis_server.url, within=20) is not None
        assert await _readiness(app.url) == (
            200,
            {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
        )

        first_of_outage = await db.scalar("SELECT max(id) FROM outbox_events")

        # --- Stopped ----------------------------------------------------------------
        redis_server.stop()
        stopped = time.monotonic()
        status, body = await _readiness(app.url)
        say(f"Redis stopped: /readyz {status} {body['checks']}")
        assert status == 503 and body["checks"] == {"database": "ok", "redis": "failing"}
        pages = [
            await _shop_check_out_and_pay(shopper, slug)
            for shopper, slug in zip(shoppers[1:3], ("the-bakery", "community-garden"), strict=True)
        ]
        said = [page.says() for page in pages]
        say(f"while stopped, 2 shoppers filled carts, checked out and paid: {said}")
        assert all("is paid" in line for line in said), said
        assert all(seen.status in (200, 302, 303) for s in shoppers[1:3] for seen in s.seen), [
            (seen.url, seen.status) for s in shoppers[1:3] for seen in s.seen
        ]
        waiting, attempts, due_in = await _backlog(db)
        while (due_in is None or due_in < BACKOFF_AHEAD_SECONDS) and (
            time.monotonic() - stopped < OUTAGE_CAP_SECONDS
        ):
            await asyncio.sleep(0.5)
            waiting, attempts, due_in = await _backlog(db)
        queued = await db.scalar("SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL")
        redis_server.start()
        back = time.monotonic()
        say(
            f"Redis down {back - stopped:.1f} s; {queued} events queued in the outbox, "
            f"{waiting} of them tried {attempts} times, next retry by backoff in "
            f"{due_in or 0:.1f} s"
        )
        assert queued >= 4 and due_in is not None and due_in >= BACKOFF_AHEAD_SECONDS
        drained = await _until_drained(db, redis_server.url, within=30)
        ready = await _readiness(app.url)
        say(
            "Redis back: backlog drained onto the stream in "
            + (f"{drained:.1f} s" if drained is not None else "more than 30 s")
            + f" (bound {DRAIN_BOUND_SECONDS:g} s); /readyz {ready[0]} "
            f"{time.monotonic() - back:.1f} s after"
        )
        assert drained is not None and drained < DRAIN_BOUND_SECONDS
        assert ready[0] == 200

        # --- Frozen -----------------------------------------------------------------
        redis_server.freeze()
        frozen = time.monotonic()
        try:
            status, body = await _readiness(app.url)
            say(
                f"Redis frozen (SIGSTOP): /readyz {status} {body['checks']} "
                f"in {time.monotonic() - frozen:.1f} s"
            )
            assert status == 503 and body["checks"]["redis"] == "failing"
            pages = [
                await _shop_check_out_and_pay(shopper, "the-bakery") for shopper in shoppers[3:]
            ]
            said = [page.says() for page in pages]
            say(f"while frozen, 2 shoppers filled carts, checked out and paid: {said}")
            assert all("is paid" in line for line in said), said
            queued = await db.scalar(
                "SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL"
            )
            await asyncio.sleep(max(0.0, FREEZE_SECONDS - (time.monotonic() - frozen)))
        finally:
            redis_server.thaw()
        thawed = time.monotonic()
        drained = await _until_drained(db, redis_server.url, within=30)
        ready = await _readiness(app.url)
        say(
            f"Redis frozen {thawed - frozen:.1f} s with {queued} events queued; after SIGCONT "
            "the backlog drained in "
            + (f"{drained:.1f} s" if drained is not None else "more than 30 s")
            + f"; /readyz {ready[0]}"
        )
        assert queued >= 2
        assert drained is not None and drained < DRAIN_BOUND_SECONDS
        assert ready[0] == 200

        # --- What was stored --------------------------------------------------------
        found = await db.integrity()
        entries = stream_event_ids(redis_server.url)
        say(found.line())
        say(
            f"stream: {len(entries)} entries for {len(set(entries))} events "
            f"({len(entries) - len(set(entries))} delivered twice, allowed: at least once)"
        )
        assert found.statuses == {"paid": 5}
        assert found.events == {"order.created": 5, "order.paid": 5}
        # Redis kept nothing across its restart (no RDB, no AOF): the events since are there.
        since_restart = {
            row[0]
            for row in await db.rows(
                "SELECT event_id FROM outbox_events WHERE id > :first", first=first_of_outage
            )
        }
        assert since_restart <= set(entries) and len(since_restart) == 8
        assert found.half_written() == dict.fromkeys(found.half_written(), 0)
        assert "Traceback" not in app.log(), app.log_tail(80)
    finally:
        for shopper in shoppers:
            await shopper.close()
