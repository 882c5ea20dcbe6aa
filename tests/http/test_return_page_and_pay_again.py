"""GET /checkout/return/<ref> (the page SumUp sends the shopper back to) and
POST /checkout/<ref>/pay-again."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, start_session
from tests.http.payment_steps import local, page_text, press, start
from tests.integration.checkout_data import ANON, OTHER_ANON
from tests.integration.payment_data import (
    attempts_of,
    entry_state,
    live_line_ids,
    paid_events,
    placed_bakery_order,
    stored_order,
)


@pytest.fixture
async def shopper(client):  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    return client


def return_path(public_ref: str) -> str:
    return f"/checkout/return/{public_ref}"


async def test_webhook_first_then_return_page_shows_the_paid_order_with_its_lines(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    attempt = await start(app, db, placed.order_id)

    paid = await press(shopper, attempt.hosted_checkout_url, "pay")  # the sandbox posts the webhook
    assert paid.status_code == 303
    assert local(paid.headers["Location"]) == return_path(placed.public_ref)
    assert await stored_order(db, placed.order_id) == ("paid", True, None)

    status, page = await page_text(shopper, return_path(placed.public_ref))
    assert status == 200
    assert f"Thank you, order {placed.number} is paid" in page
    assert "Bread" in page and "Jam" in page and "Baking class" in page
    assert "£24.00" in page
    assert 'http-equiv="refresh"' not in page and "Pay again" not in page
    assert len(await paid_events(db)) == 1


async def test_return_visit_before_the_webhook_pays_the_order_and_the_late_webhook_adds_nothing(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    attempt = await start(app, db, placed.order_id)
    store = sandbox_store(app.app)
    store.send_webhooks = False  # the webhook is late

    await press(shopper, attempt.hosted_checkout_url, "pay")
    assert await stored_order(db, placed.order_id) == ("pending", False, None)

    status, page = await page_text(shopper, return_path(placed.public_ref))
    assert status == 200 and f"Thank you, order {placed.number} is paid" in page
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    assert await live_line_ids(db) == set()

    late = await shopper.post(
        "/checkout/webhook",
        json={"event_type": "CHECKOUT_STATUS_CHANGED", "id": attempt.sumup_checkout_id},
    )
    assert late.status_code == 204
    assert len(await paid_events(db)) == 1


async def test_return_page_while_pending_refreshes_itself_and_links_to_the_payment_page(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    attempt = await start(app, db, placed.order_id)

    status, page = await page_text(shopper, return_path(placed.public_ref))

    assert status == 200
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "<script" not in page
    assert f"Waiting for your payment of order {placed.number}" in page
    assert f'href="{attempt.hosted_checkout_url}"' in page
    assert "Pay again" not in page


async def test_failed_payment_then_paid_on_a_second_attempt(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)

    declined = await press(shopper, first.hosted_checkout_url, "decline")
    _, page = await page_text(shopper, local(declined.headers["Location"]))
    assert f"The payment of order {placed.number} did not go through" in page
    assert f'action="/checkout/{placed.public_ref}/pay-again"' in page
    assert await stored_order(db, placed.order_id) == ("pending", False, None)

    again = await shopper.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )
    assert again.status_code == 303
    second_url = again.headers["Location"]
    assert second_url != first.hosted_checkout_url
    # The failed checkout is closed at SumUp, so it cannot be paid as well.
    assert sandbox_store(app.app).get(first.sumup_checkout_id).status == "EXPIRED"

    paid = await press(shopper, second_url, "pay")
    _, page = await page_text(shopper, local(paid.headers["Location"]))
    assert f"Thank you, order {placed.number} is paid" in page
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["EXPIRED", "PAID"]
    assert [a[0] for a in await attempts_of(db, placed.order_id)] == [
        f"coop-{placed.public_ref}-1",
        f"coop-{placed.public_ref}-2",
    ]
    assert len(await paid_events(db)) == 1
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"


async def test_expired_checkout_offers_pay_again_with_a_new_checkout(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)
    expired = await shopper.post(
        f"/sumup-sandbox/checkouts/{first.sumup_checkout_id}/expire",
        headers={"Authorization": "Bearer sup_sk_sandbox_0000000000000000"},
    )
    assert expired.status_code == 200

    _, page = await page_text(shopper, return_path(placed.public_ref))
    assert f"The payment of order {placed.number} timed out" in page
    assert "Pay again £24.00" in page

    again = await shopper.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )
    await press(shopper, again.headers["Location"], "pay")
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["EXPIRED", "PAID"]


async def test_pay_again_while_a_checkout_is_open_offers_that_same_checkout(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)

    again = await shopper.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )

    assert again.headers["Location"] == first.hosted_checkout_url
    assert len(await attempts_of(db, placed.order_id)) == 1


async def test_pay_again_of_a_paid_order_says_so_and_makes_no_checkout(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)
    await press(shopper, first.hosted_checkout_url, "pay")

    again = await shopper.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )

    assert again.status_code == 303
    assert local(again.headers["Location"]) == return_path(placed.public_ref)
    _, page = await page_text(shopper, return_path(placed.public_ref))
    assert f"Order {placed.number} is paid already." in page
    assert len(await attempts_of(db, placed.order_id)) == 1


async def test_pay_again_without_the_csrf_token_is_refused(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)
    await press(shopper, first.hosted_checkout_url, "decline")

    refused = await shopper.post(f"/checkout/{placed.public_ref}/pay-again", form={})

    assert refused.status_code == 400
    assert len(await attempts_of(db, placed.order_id)) == 1


async def test_another_shoppers_order_is_not_found_on_either_route(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)
    assert OTHER_ANON.session_id
    await start_session(client, OTHER_ANON.session_id)

    status, page = await page_text(client, return_path(placed.public_ref))
    assert status == 404
    assert placed.number not in page and "Bread" not in page
    again = await client.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )
    assert again.status_code == 404
    assert [a[2] for a in await attempts_of(db, placed.order_id)] == [first.sumup_checkout_id]


@pytest.mark.parametrize("ref", ["nope", "x" * 33, "%00", "a'b"])
async def test_a_made_up_reference_is_not_found_on_either_route(shopper, ref: str) -> None:  # type: ignore[no-untyped-def]
    status, _ = await page_text(shopper, return_path(ref))
    again = await shopper.post(f"/checkout/{ref}/pay-again", form={"csrf_token": TOKEN})
    assert (status, again.status_code) == (404, 404)


async def test_return_page_without_any_session_is_not_found(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)

    status, _ = await page_text(client, return_path(placed.public_ref))

    assert status == 404


async def test_paid_amount_not_matching_the_order_is_shown_as_being_checked_not_paid(
    app, shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await start(app, db, placed.order_id)
    # The order's total no longer matches what the checkout was made for (as if tampered).
    await db.execute(update(Order).where(Order.id == placed.order_id).values(total_minor=100))
    await db.commit()

    await press(shopper, first.hosted_checkout_url, "pay")

    stored = await stored_order(db, placed.order_id)
    assert (stored.status, stored.paid) == ("pending", False)
    assert stored.attention_reason
    _, page = await page_text(shopper, return_path(placed.public_ref))
    assert f"Order {placed.number}: the shop is checking your payment" in page
    assert "Pay again" not in page and "Thank you" not in page
    again = await shopper.post(
        f"/checkout/{placed.public_ref}/pay-again", form={"csrf_token": TOKEN}
    )
    _, page = await page_text(shopper, local(again.headers["Location"]))
    assert "has a payment that the shop must check" in page
    assert len(await attempts_of(db, placed.order_id)) == 1
    assert await paid_events(db) == []
