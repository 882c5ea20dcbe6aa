"""Expiry: an order left unpaid gives its bookings back to the shopper's cart, its SumUp
checkout is closed first, and a payment found there wins over the expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.order_ops.expire import Expiry, expire_unpaid_orders
from bp.order_ops.jobs import expiry_round
from models import PaymentAttempt
from services import register_domain_services
from shared.base_app import settings_of
from shared.models import utcnow
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import start_session
from tests.http.payment_steps import page_text, press, start
from tests.integration.checkout_data import ANON
from tests.integration.order_ops_data import (
    ClosableFakeSumUp,
    minutes_from_now,
    payloads,
    sandbox_clients,
)
from tests.integration.payment_data import (
    entry_state,
    pending_attempt,
    placed_bakery_order,
    stored_order,
)


async def _expire(app, now):  # type: ignore[no-untyped-def]
    return await expiry_round(
        app.app.extensions["db_sessionmaker"], sandbox_clients(app), settings_of(app.app), now=now
    )


async def test_expiry_releases_the_booking_back_to_the_cart_and_closes_the_checkout(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)
    await start_session(client, ANON.session_id)
    _, cart_before = await page_text(client, "/cart/bakery/")
    # Held by the order: shown with the waiting order, not as a line of the cart.
    assert f"Order {placed.number} is waiting for payment" in cart_before
    assert "your booking for Baking class" not in cart_before

    too_soon = await _expire(app, minutes_from_now(29))
    done = await _expire(app, minutes_from_now(31))

    assert too_soon.outcomes == {}
    assert done.numbers(Expiry.EXPIRED) == [placed.number]
    assert (await stored_order(db, placed.order_id)).status == "expired"
    assert await entry_state(db, placed.cart.entry_id) == "pending"
    assert sandbox_store(app.app).get(started.sumup_checkout_id).status == "EXPIRED"
    [expired] = await payloads(db, "order.expired")
    assert (expired["order_ref"], expired["status"], expired["bookings_released"]) == (
        placed.public_ref,
        "expired",
        1,
    )
    status, cart_after = await page_text(client, "/cart/bakery/")
    assert status == 200
    assert "Baking class" in cart_after and "Bread" in cart_after and "Jam" in cart_after
    assert "waiting for payment" not in cart_after and 'class="checkout-form"' in cart_after
    assert "your booking for Baking class" in cart_after  # its Remove button: a cart line again
    # Expired once: a second round finds nothing to do.
    assert (await _expire(app, minutes_from_now(40))).outcomes == {}
    assert len(await payloads(db, "order.expired")) == 1


async def test_expiry_finds_the_checkout_paid_and_records_the_payment_instead(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)
    sandbox_store(app.app).send_webhooks = False
    await start_session(client, ANON.session_id)
    await press(client, started.hosted_checkout_url, "pay")

    done = await _expire(app, minutes_from_now(31))

    assert done.numbers(Expiry.PAID) == [placed.number]
    assert (await stored_order(db, placed.order_id)).status == "paid"
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    assert await payloads(db, "order.expired") == []
    assert len(await payloads(db, "order.paid")) == 1


async def test_expiry_counts_from_the_latest_pay_again_not_the_order(
    app, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    await start(app, db, placed.order_id)
    # The shopper pressed Pay again 25 minutes after checkout.
    await db.execute(update(PaymentAttempt).values(created_at=utcnow() + timedelta(minutes=25)))
    await db.commit()

    assert (await _expire(app, minutes_from_now(31))).outcomes == {}
    assert (await stored_order(db, placed.order_id)).status == "pending"
    done = await _expire(app, minutes_from_now(56))
    assert done.numbers(Expiry.EXPIRED) == [placed.number]


async def test_expiry_of_an_order_whose_payment_never_started(
    app, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)

    done = await _expire(app, minutes_from_now(31))

    assert done.numbers(Expiry.EXPIRED) == [placed.number]
    assert await entry_state(db, placed.cart.entry_id) == "pending"


async def test_expiry_waits_while_sumup_cannot_be_asked(
    db: AsyncSession, factory: Factory, settings
) -> None:
    register_domain_services()
    placed = await placed_bakery_order(db, factory)
    fake = ClosableFakeSumUp()
    await pending_attempt(db, placed, fake)
    fake.down = True

    done = await expire_unpaid_orders(
        db, client_for=fake, now=minutes_from_now(31), after=timedelta(minutes=30)
    )

    assert done.numbers(Expiry.UNREACHABLE) == [placed.number]
    assert (await stored_order(db, placed.order_id)).status == "pending"
    assert await entry_state(db, placed.cart.entry_id) == "ordered"
    assert await payloads(db, "order.expired") == []
