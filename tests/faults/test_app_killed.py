"""The app SIGKILLed with checkouts in flight; after a restart every order is paid or expires.

Seven shoppers on the app under hypercorn, its SumUp a fake of the test's own, its jobs
left to `manage.py orders reconcile|expire` (BACKGROUND_JOBS=false, as a deployment running
them from cron; ORDER_RECONCILE_AFTER_MINUTES and ORDER_EXPIRE_AFTER_MINUTES at their least,
1). Three shoppers reach SumUp's page. Four more press Check out at once and SumUp holds
every create: two are made at SumUp and never answered, two never arrive. Then hypercorn and
its worker get SIGKILL, and the app is started again.

After the restart: a shopper pays on the SumUp page they had (its webhook reaches the new
process); one whose checkout SumUp made unanswered, and one whose create never arrived,
press Pay again (the same checkout reference: SumUp's 409 finds the made one, the other is
made once) and pay; one paid at SumUp but its webhook is lost. The commands have no clock
of their own, so the minute they wait for is passed by dating the orders and payment
attempts two minutes back. `orders reconcile` finds the lost webhook's payment; one more
payment lands without a webhook, and `orders expire` finds it paid when it closes that
checkout, and expires the two nobody paid (their SumUp checkouts closed, their bookings
back in the cart). Each command exits 0; no order is left pending, none half-written, and
SumUp never holds two checkouts of one reference.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from tests.faults.fake_sumup import API_KEY, FakeSumUp
from tests.faults.processes import free_port, manage, until
from tests.faults.shopper import NoAnswer, Shopper
from tests.faults.stored import Stored

JOURNEY_SECONDS = 60.0
HELD_WITHIN_SECONDS = 30.0
SHOPS = ("the-bakery", "community-garden")


async def test_app_killed_with_checkouts_in_flight_every_order_is_paid_or_expires(
    shop_database: str,
    start_app: Callable[..., Any],
    stored: Callable[[str], Stored],
    say: Callable[[str], None],
) -> None:
    fake = FakeSumUp(free_port())
    fake.answer()
    app = start_app(
        database_url=shop_database,
        SUMUP_API_BASE=fake.base,
        SUMUP_API_KEY=API_KEY,
        SUMUP_TIMEOUT_SECONDS="30",  # held creates are still in flight when the app dies
        BACKGROUND_JOBS="false",
        ORDER_RECONCILE_AFTER_MINUTES="1",
        ORDER_EXPIRE_AFTER_MINUTES="1",
    )
    db = stored(shop_database)
    shoppers = [Shopper(f"s{n}", app.url) for n in range(7)]
    deadline = time.monotonic() + JOURNEY_SECONDS
    try:
        for n, shopper in enumerate(shoppers):
            await shopper.fill_cart(SHOPS[n % 2], deadline=deadline)
        for n, shopper in enumerate(shoppers[:3]):
            seen = await shopper.check_out(SHOPS[n % 2], deadline=deadline)
            assert seen.status == 303 and shopper.sent_to_sumup, seen.says()

        # --- Four checkouts in flight, then SIGKILL ---------------------------------------
        fake.script("record_then_hang", "record_then_hang", "hang", "hang")
        in_flight = [
            asyncio.create_task(shopper.check_out(SHOPS[n % 2], deadline=deadline))
            for n, shopper in enumerate(shoppers[3:], start=3)
        ]

        async def all_held() -> bool:
            return fake.held == 4

        assert await until(all_held, within=HELD_WITHIN_SECONDS), f"{fake.held} creates held"
        app.kill()
        results = await asyncio.gather(*in_flight, return_exceptions=True)
        fake.release()
        assert all(isinstance(r, NoAnswer) for r in results), results
        say(
            f"SIGKILL with 4 checkouts waiting on SumUp (2 made there, 2 never arrived): "
            f"those shoppers saw {sorted({s.last.says() for s in shoppers[3:]})}"
        )
        killed = await db.integrity()
        attempts = {ref: status for _, ref, status, _ in await db.attempts()}
        say(f"after the kill: {killed.line()}; attempts {sorted(attempts.values())}")
        assert killed.statuses == {"pending": 7}
        assert sorted(attempts.values()) == ["CREATING"] * 4 + ["PENDING"] * 3
        assert killed.half_written() == dict.fromkeys(killed.half_written(), 0)

        took = app.start()
        say(f"the app started again in {took:.1f} s")

        # Whose order is which, from each shopper's Your orders.
        orders = {s.name: await s.orders(deadline=deadline) for s in shoppers}
        assert all(len(refs) == 1 for refs in orders.values()), orders
        ref_of = {name: next(iter(refs)) for name, refs in orders.items()}
        number_of = {name: next(iter(refs.values())) for name, refs in orders.items()}
        reference_of = {
            ref_of[name]: checkout_reference
            for name in ref_of
            for _, checkout_reference, _, _ in await db.attempts()
            if f"-{ref_of[name]}-" in checkout_reference
        }
        made = [s for s in shoppers[3:] if fake.by_reference(reference_of[ref_of[s.name]])]
        lost = [s for s in shoppers[3:] if s not in made]
        assert len(made) == len(lost) == 2

        # --- After the restart: paid by the shoppers ------------------------------------
        s2 = shoppers[2]  # pays on the SumUp page they had; the webhook reaches the new app
        await _pay(
            fake,
            s2,
            s2.sent_to_sumup[-1],
            number_of[s2.name],
            say,
            how="paid on the SumUp page they had before the kill",
        )
        for shopper, how in ((made[0], "made at SumUp, unanswered"), (lost[0], "never arrived")):
            ref = ref_of[shopper.name]
            page = await shopper.go("GET", f"/checkout/return/{ref}")
            sent = await shopper.pay_again(page)
            assert sent.status == 303 and shopper.sent_to_sumup, sent.says()
            await _pay(
                fake,
                shopper,
                shopper.sent_to_sumup[-1],
                number_of[shopper.name],
                say,
                how=f"its create {how}; saw {page.says()!r}, pressed Pay again",
            )

        # --- Paid at SumUp, webhook lost; then the commands -------------------------------
        s0, s1 = shoppers[0], shoppers[1]
        fake.pay(_checkout_id(s0.sent_to_sumup[-1]), webhook=False)
        aged = await db.execute(
            "UPDATE orders SET created_at = created_at - interval '2 minutes'"
        ) + await db.execute(
            "UPDATE payment_attempts SET created_at = created_at - interval '2 minutes', "
            "updated_at = updated_at - interval '2 minutes'"
        )
        say(
            f"clock: {aged} order and attempt rows dated 2 minutes back (the commands have "
            "no clock option; ORDER_*_AFTER_MINUTES=1)"
        )
        reconciled = await asyncio.to_thread(manage, "orders", "reconcile", env=app.env)
        say(
            f"manage.py orders reconcile -> {reconciled.returncode}: "
            f"{reconciled.stdout.strip()} {reconciled.stderr.strip()}".rstrip()
        )
        assert reconciled.returncode == 0, reconciled.stderr
        assert f"1 found paid ['{number_of['s0']}']" in reconciled.stdout

        fake.pay(_checkout_id(s1.sent_to_sumup[-1]), webhook=False)
        expired = await asyncio.to_thread(manage, "orders", "expire", env=app.env)
        say(
            f"manage.py orders expire -> {expired.returncode}: "
            f"{expired.stdout.strip()} {expired.stderr.strip()}".rstrip()
        )
        assert expired.returncode == 0, expired.stderr
        expired_numbers = sorted(number_of[s.name] for s in (made[1], lost[1]))
        assert re.search(r"expire: 2 expired \[(.*?)\], 1 found paid \[(.*?)\]", expired.stdout)
        assert sorted(re.findall(r"'([0-9A-Z-]+)'", expired.stdout.split("found paid")[0])) == (
            expired_numbers
        )
        assert f"found paid ['{number_of['s1']}']" in expired.stdout

        # --- What was stored, and what the shoppers of expired orders see --------------
        found = await db.integrity()
        say(f"{found.line()} (no dispatcher: BACKGROUND_JOBS=false)")
        final = {number: status for number, status in (await db.orders()).values()}
        assert sorted(final.values()) == ["expired"] * 2 + ["paid"] * 5, final
        assert found.half_written() == dict.fromkeys(found.half_written(), 0)
        assert set(fake.checkouts_made.values()) == {1}, fake.checkouts_made
        say(
            f"SumUp: {len(fake.checkouts_made)} references, one checkout each; checkouts "
            f"{dict(fake.statuses())}; creates received {len(fake.create_requests)} "
            f"({sorted(what for _, what in fake.create_requests)})"
        )
        assert fake.statuses() == {"PAID": 5, "EXPIRED": 1}
        for shopper in (made[1], lost[1]):
            slug = SHOPS[shoppers.index(shopper) % 2]
            seen = await shopper.patiently("GET", f"/cart/{slug}/", deadline=deadline)
            form = await shopper.checkout_form(slug, deadline=deadline)
            assert seen.status == 200 and form
        pending_bookings = await db.scalar(
            "SELECT count(*) FROM calendar_entries WHERE state = 'pending' AND order_id IS NULL"
        )
        say(
            f"the 2 expired orders' shoppers see their cart again with its Check out; "
            f"{pending_bookings} bookings back in carts"
        )
        assert pending_bookings == 2
        log = app.log()
        assert "Traceback" not in log, app.log_tail(80)
    finally:
        fake.stop()
        for shopper in shoppers:
            await shopper.close()


def _checkout_id(hosted_url: str) -> str:
    return hosted_url.rsplit("/", 1)[1]


async def _pay(
    fake: FakeSumUp,
    shopper: Shopper,
    hosted_url: str,
    number: str,
    say: Callable[[str], None],
    *,
    how: str,
) -> None:
    checkout = fake.checkouts[_checkout_id(hosted_url)]
    fake.pay(checkout.id, webhook=True)
    assert checkout.redirect_url
    back = await shopper.go("GET", checkout.redirect_url)
    say(f"{shopper.name} ({how}): back from SumUp on {back.says()!r}")
    assert back.status == 200 and f"order {number} is paid" in back.says(), back.says()
