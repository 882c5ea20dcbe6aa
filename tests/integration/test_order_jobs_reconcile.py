"""Reconciliation: a payment whose webhook was lost, and whose shopper never came back,
still ends PAID when the job asks SumUp (the sandbox, through ASGI)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.order_ops.jobs import reconcile_round
from models import PaymentAttempt
from shared.base_app import settings_of
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import start_session
from tests.http.payment_steps import press, start
from tests.integration.checkout_data import ANON
from tests.integration.order_ops_data import (
    ClosableFakeSumUp,
    minutes_from_now,
    payloads,
    sandbox_clients,
    sessionmaker_of,
)
from tests.integration.payment_data import (
    PAID,
    attempts_of,
    entry_state,
    pending_attempt,
    placed_bakery_order,
    stored_order,
)


async def test_reconcile_lost_webhook_shopper_never_back_order_ends_paid_once(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)
    sandbox_store(app.app).send_webhooks = False  # the webhook is lost
    await start_session(client, ANON.session_id)
    paying = await press(client, started.hosted_checkout_url, "pay")  # then closes the tab
    assert paying.status_code == 303
    assert (await stored_order(db, placed.order_id)).status == "pending"
    maker, settings = app.app.extensions["db_sessionmaker"], settings_of(app.app)

    too_soon = await reconcile_round(maker, sandbox_clients(app), settings, now=minutes_from_now(1))
    later = await reconcile_round(maker, sandbox_clients(app), settings, now=minutes_from_now(6))
    again = await reconcile_round(maker, sandbox_clients(app), settings, now=minutes_from_now(12))

    assert (too_soon.checked, too_soon.paid) == (0, ())  # within 5 minutes: left alone
    assert (later.checked, later.paid) == (1, (placed.number,))
    assert (again.checked, again.paid) == (0, ())  # paid: nothing open to ask about
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    [paid] = await payloads(db, "order.paid")
    assert (paid["order_ref"], paid["status"], paid["after_expiry"]) == (
        placed.public_ref,
        "paid",
        False,
    )
    assert paid["sumup_checkout_id"] == started.sumup_checkout_id


async def test_reconcile_finds_a_checkout_whose_create_answer_was_lost(
    db: AsyncSession, factory: Factory, settings
) -> None:
    placed = await placed_bakery_order(db, factory)
    fake = ClosableFakeSumUp()
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", **PAID)
    # As start_payment leaves an attempt when SumUp's answer never came: no SumUp id.
    await db.execute(update(PaymentAttempt).values(sumup_checkout_id=None, status="CREATING"))
    await db.commit()
    maker = sessionmaker_of(db)

    done = await reconcile_round(maker, fake, settings, now=minutes_from_now(6))

    assert done.paid == (placed.number,)
    assert await attempts_of(db, placed.order_id) == [
        (f"coop-{placed.public_ref}-1", "PAID", "chk-1")
    ]
    assert await stored_order(db, placed.order_id) == ("paid", True, None)


async def test_reconcile_sumup_down_changes_nothing_and_counts_it(
    db: AsyncSession, factory: Factory, settings
) -> None:
    placed = await placed_bakery_order(db, factory)
    fake = ClosableFakeSumUp()
    await pending_attempt(db, placed, fake)
    fake.down = True

    done = await reconcile_round(sessionmaker_of(db), fake, settings, now=minutes_from_now(6))

    assert (done.checked, done.paid, done.unreachable) == (1, (), 1)
    assert (await stored_order(db, placed.order_id)).status == "pending"
    assert await payloads(db, "order.paid") == []
