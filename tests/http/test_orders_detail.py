"""GET /orders/<ref> (one order: lines, bookings, payments) and POST /orders/<ref>/check."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order
from services.sql_calendar import SqlCalendarService
from shared.http_client import HTTP_CLIENT_KEY
from shared.models import Product
from sumup.credentials import SANDBOX_API_KEY
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, start_session
from tests.http.payment_steps import local, page_text, press, start
from tests.integration.checkout_data import ANON
from tests.integration.payment_data import (
    attempts_of,
    entry_state,
    paid_events,
    placed_bakery_order,
    stored_order,
)


@pytest.fixture
async def shopper(client):  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    return client


def order_path(public_ref: str) -> str:
    return f"/orders/{public_ref}"


async def check(shopper, public_ref: str):  # type: ignore[no-untyped-def]
    """Press "Check payment status"; answers the page it leads back to."""
    pressed = await shopper.post(f"/orders/{public_ref}/check", form={"csrf_token": TOKEN})
    assert pressed.status_code == 303
    assert local(pressed.headers["Location"]) == order_path(public_ref)
    return await page_text(shopper, order_path(public_ref))


async def test_an_unpaid_order_shows_its_lines_as_they_were_its_booking_and_pay_again(
    shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    # The catalogue changes after checkout; the order keeps its copy.
    await db.execute(update(Product).values(price_minor=9999, title="Renamed"))
    await db.commit()

    status, page = await page_text(shopper, order_path(placed.public_ref))

    assert status == 200
    assert f"<h1>Order {placed.number}</h1>" in page
    assert "Waiting for payment" in page and "Bakery" in page
    assert "Bread" in page and "£2.50" in page and "£5.00" in page and "Jam" in page
    assert "Renamed" not in page and "£99.99" not in page
    assert "£24.00" in page
    assert "Baking class" in page and "Sat 4 May 2030, 11:00–14:00 BST" in page
    assert "Held for this order until it is paid" in page
    assert "No payment has been started for this order." in page
    assert f'action="/checkout/{placed.public_ref}/pay-again"' in page
    assert "Pay again £24.00" in page
    assert "Check payment status" not in page  # nothing at SumUp to ask about
    assert 'href="/orders/">All your orders</a>' in page


async def test_check_payment_status_records_a_payment_sumup_took_without_telling_us(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    attempt = await start(app, db, placed.order_id)
    _, before = await page_text(shopper, order_path(placed.public_ref))
    assert "Payment 1" in before and "Waiting for the payment" in before
    assert "PENDING" not in before  # SumUp's codes are not the shopper's words
    assert f'action="/orders/{placed.public_ref}/check"' in before
    assert "Pay again" not in before  # the open checkout is still payable
    # Paid at SumUp; its webhook never came.
    sandbox_store(app.app).pay(attempt.sumup_checkout_id, succeed=True)

    status, page = await check(shopper, placed.public_ref)

    assert status == 200
    assert f"Order {placed.number} is paid. Thank you!" in page
    assert "Paid (receipt " in page and "PAID" not in page and "Confirmed" in page
    assert "Check payment status" not in page and "Pay again" not in page
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    # Pressed again: nothing more is recorded, nothing is emitted twice.
    pressed = await shopper.post(f"/orders/{placed.public_ref}/check", form={"csrf_token": TOKEN})
    assert pressed.status_code == 303
    assert len(await paid_events(db)) == 1


async def test_a_declined_payment_is_failed_and_pay_again_is_offered(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    attempt = await start(app, db, placed.order_id)
    sandbox_store(app.app).send_webhooks = False
    await press(shopper, attempt.hosted_checkout_url, "decline")

    _, page = await check(shopper, placed.public_ref)

    assert f"The last payment of order {placed.number} did not go through" in page
    assert "Declined: nothing was charged" in page and "FAILED" not in page
    assert "Pay again £24.00" in page
    assert await attempts_of(db, placed.order_id) == [
        (f"coop-{placed.public_ref}-1", "FAILED", attempt.sumup_checkout_id)
    ]


async def test_a_declined_payment_still_reads_declined_after_paying_again(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)
    await press(shopper, first.hosted_checkout_url, "decline")
    again = await shopper.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )
    await press(shopper, again.headers["Location"], "pay")

    _, page = await page_text(shopper, order_path(placed.public_ref))

    # Pay again closed the declined checkout at SumUp (its status there is EXPIRED now),
    # and the history still says what happened to it.
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["EXPIRED", "PAID"]
    assert "Declined: nothing was charged" in page
    assert "Closed before it was paid" not in page and "Expired" not in page
    assert not any(code in page for code in ("FAILED", "EXPIRED", "PENDING", ">PAID"))


async def test_an_expired_checkout_offers_pay_again_which_leads_to_a_new_checkout(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)
    expired = await shopper.post(
        f"/sumup-sandbox/checkouts/{first.sumup_checkout_id}/expire",
        headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"},
    )
    assert expired.status_code == 200

    _, page = await page_text(shopper, order_path(placed.public_ref))
    assert "Closed before it was paid: nothing was charged" in page and "EXPIRED" not in page
    assert "Pay again £24.00" in page
    again = await shopper.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )
    await press(shopper, again.headers["Location"], "pay")

    _, paid = await page_text(shopper, order_path(placed.public_ref))
    assert "Payment 2" in paid and "Paid" in paid and "Pay again" not in paid
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["EXPIRED", "PAID"]


async def test_when_sumup_cannot_be_reached_the_shopper_is_told_and_nothing_changes(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    attempt = await start(app, db, placed.order_id)
    sandbox_store(app.app).pay(attempt.sumup_checkout_id, succeed=True)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app.app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    status, page = await check(shopper, placed.public_ref)

    assert status == 200
    assert "We could not reach the payment service just now" in page
    assert f"order {placed.number} is as it was" in page
    assert await stored_order(db, placed.order_id) == ("pending", False, None)
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["PENDING"]


async def test_check_without_the_forms_token_is_refused_and_asks_nothing(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    attempt = await start(app, db, placed.order_id)
    sandbox_store(app.app).pay(attempt.sumup_checkout_id, succeed=True)

    refused = await shopper.post(f"/orders/{placed.public_ref}/check", form={})

    assert refused.status_code == 400
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_an_order_refunded_in_part_says_how_much(
    shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    await db.execute(
        update(Order).where(Order.id == placed.order_id).values(status="paid", refunded_minor=500)
    )
    await db.commit()

    _, page = await page_text(shopper, order_path(placed.public_ref))

    assert "Paid, £5.00 refunded" in page
    assert "Check payment status" not in page and "Pay again" not in page


async def test_bookings_an_expired_order_gave_back_are_named_as_given_back(
    shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    await SqlCalendarService().release_entries_for_order(db, placed.order_id)
    await db.execute(update(Order).where(Order.id == placed.order_id).values(status="expired"))
    await db.commit()

    _, page = await page_text(shopper, order_path(placed.public_ref))

    assert "Expired: not paid in time" in page
    assert "No longer held by this order" in page and "Baking class" in page
    assert "Held for this order" not in page and "Pay again" not in page
    assert await entry_state(db, placed.cart.entry_id) == "pending"


async def test_a_payment_the_shop_must_check_is_said_on_the_order_and_in_the_list(
    shopper, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    # A payment that landed after expiry when the places were gone (helper J's flag).
    await db.execute(
        update(Order)
        .where(Order.id == placed.order_id)
        .values(status="expired", attention_reason="paid after expiry; refund needed")
    )
    await db.commit()

    _, page = await page_text(shopper, order_path(placed.public_ref))
    _, listed = await page_text(shopper, "/orders/")

    assert "the shop has to check by hand" in page and "Pay again" not in page
    assert "refund needed" not in page  # the reason is for the shop, not the shopper
    assert "(the shop is checking it)" in listed
