"""SumUp unreachable, then slow past the timeout: the order is kept and paid later.

The app's SumUp is a fake on a port of the test's own (SUMUP_API_BASE, an API key in
SUMUP_API_KEY, SUMUP_TIMEOUT_SECONDS=1). First nothing listens there: a shopper checks out
and is led to their saved order, with Pay again. Then it answers, but only after 3 s: SumUp
makes the checkouts asked for and the app has given up waiting; a second shopper checks
out, the first presses Pay again, both land on their saved order again. Then it answers at
once: Pay again sends each to SumUp's page, and the checkout made while the app was not
listening is the one they get (SumUp's 409 for a reference it has, then a search by
reference): one checkout per reference, never two. They pay; their orders are paid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.faults.fake_sumup import API_KEY, FakeSumUp
from tests.faults.processes import free_port
from tests.faults.shopper import NOTHING_DONE, Seen, Shopper
from tests.faults.stored import Stored

TIMEOUT_SECONDS = 1
SLOW_SECONDS = 3.0
JOURNEY_SECONDS = 60.0
SAVED = "Your order {number} is saved"


def _on_saved_order(seen: Seen, number: str) -> bool:
    return (
        seen.status == 200
        and "/checkout/return/" in seen.url
        and SAVED.format(number=number) in seen.says()
        and "Pay again" in seen.body
        and not NOTHING_DONE.search(seen.body)
    )


async def test_sumup_unreachable_then_slow_the_order_is_kept_and_paid_later(
    shop_database: str,
    start_app: Callable[..., Any],
    stored: Callable[[str], Stored],
    say: Callable[[str], None],
) -> None:
    fake = FakeSumUp(free_port())  # not listening yet: unreachable
    app = start_app(
        database_url=shop_database,
        SUMUP_API_BASE=fake.base,
        SUMUP_API_KEY=API_KEY,
        SUMUP_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
    )
    db = stored(shop_database)
    first, second = Shopper("first", app.url), Shopper("second", app.url)
    deadline = time.monotonic() + JOURNEY_SECONDS
    try:
        # --- Unreachable ------------------------------------------------------------
        await first.fill_cart("the-bakery", deadline=deadline)
        began = time.monotonic()
        landed = await first.check_out("the-bakery", deadline=deadline)
        [(first_ref, (first_number, _))] = (await db.orders()).items()
        say(
            f"SumUp unreachable (connection refused): checkout answered in "
            f"{time.monotonic() - began:.1f} s; the shopper saw {landed.says()!r}"
        )
        assert _on_saved_order(landed, first_number), landed.says()
        assert fake.create_requests == []

        # --- Slow past the timeout --------------------------------------------------
        fake.slow(SLOW_SECONDS)
        await second.fill_cart("community-garden", deadline=deadline)
        began = time.monotonic()
        landed = await second.check_out("community-garden", deadline=deadline)
        second_number = next(n for ref, (n, _) in (await db.orders()).items() if ref != first_ref)
        say(
            f"SumUp answering after {SLOW_SECONDS:g} s (timeout {TIMEOUT_SECONDS} s): checkout "
            f"answered in {time.monotonic() - began:.1f} s; the shopper saw {landed.says()!r}"
        )
        assert _on_saved_order(landed, second_number), landed.says()
        again = await first.pay_again(first.last)
        say(f"the first shopper's Pay again meanwhile: {again.says()!r}")
        assert _on_saved_order(again, first_number), again.says()
        made_unanswered = sorted(fake.checkouts_made)
        say(
            f"SumUp made {len(made_unanswered)} checkouts whose answers the app never got: "
            f"{made_unanswered}"
        )
        assert len(made_unanswered) == 2
        attempts = await db.attempts()
        assert [status for _, _, status, _ in attempts] == ["CREATING", "CREATING"], attempts

        # --- Answering again: payable ----------------------------------------------
        fake.answer()
        for shopper, number in ((first, first_number), (second, second_number)):
            sent = await shopper.pay_again(shopper.last)
            assert sent.status == 303 and shopper.sent_to_sumup, sent.says()
            checkout = fake.checkouts[shopper.sent_to_sumup[-1].rsplit("/", 1)[1]]
            fake.pay(checkout.id, webhook=True)  # on SumUp's page; SumUp posts its webhook
            assert checkout.redirect_url
            back = await shopper.go("GET", checkout.redirect_url)  # SumUp sends them back
            say(
                f"SumUp answering: the {shopper.name} shopper's Pay again led to SumUp's page "
                f"for {checkout.checkout_reference}; paid there; back on {back.says()!r}"
            )
            assert back.status == 200 and f"order {number} is paid" in back.says(), back.says()

        # --- What was stored --------------------------------------------------------
        say(f"creates SumUp received: {fake.create_requests}")
        say(
            f"checkouts made per reference: {dict(fake.checkouts_made)}; "
            f"SumUp's checkouts: {dict(fake.statuses())}"
        )
        assert set(fake.checkouts_made.values()) == {1} and len(fake.checkouts_made) == 2
        attempts = await db.attempts()
        say(f"payment attempts: {[(n, ref, st) for n, ref, st, _ in attempts]}")
        assert sorted(ref for _, ref, _, _ in attempts) == sorted(fake.checkouts_made)
        assert {status for _, _, status, _ in attempts} == {"PAID"}
        assert {a[3] for a in attempts} == set(fake.checkouts)
        assert await db.drained(within=20) is not None  # the app's dispatcher, no Redis
        found = await db.integrity()
        say(found.line())
        assert found.statuses == {"paid": 2}
        assert found.events == {"order.created": 2, "order.paid": 2}
        assert found.half_written() == dict.fromkeys(found.half_written(), 0)
        assert "Traceback" not in app.log(), app.log_tail(80)
    finally:
        fake.stop()
        await first.close()
        await second.close()
