"""The whole way, as a shopper's browser goes: add to the cart, book a place, check out, pay
on SumUp's hosted page (the sandbox, through ASGI), SumUp's webhook, the return page."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order
from shared.http_client import HTTP_CLIENT_KEY
from shared.models import CalendarEntry
from sumup.sandbox import sandbox_store
from tests.conftest import ArrivingFromOutside
from tests.contract.calendar_data import slot_on_page
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, rendered_checkout_form
from tests.http.payment_steps import local, page_text, press
from tests.integration.payment_data import (
    LosesTheFirstCreateAnswer,
    attempts_of,
    entry_state,
    live_line_ids,
    paid_events,
    stored_order,
)


async def _shop(factory: Factory) -> tuple[int, int]:
    page = await factory.page(slug="bakery", title="Bakery")
    bread = await factory.product(page_id=page.id, title="Sourdough", price_minor=350)
    slot = await slot_on_page(factory, page_id=page.id, title="Bread class", price_minor=2000)
    return bread.id, slot.id


async def _fill_cart(client, bread_id: int, slot_id: int) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
    added = await client.post(
        "/cart/add", form={"product_id": str(bread_id), "quantity": "2", "csrf_token": TOKEN}
    )
    booked = await client.post(
        "/shop/bakery/book", form={"slot_id": str(slot_id), "csrf_token": TOKEN}
    )
    assert (added.status_code, booked.status_code) == (302, 302)


async def _the_order(db: AsyncSession) -> tuple[int, str, str]:
    await db.rollback()
    [row] = (await db.execute(select(Order.id, Order.number, Order.public_ref))).all()
    return row.id, row.number, row.public_ref


async def _booking_ids(db: AsyncSession) -> list[int]:
    await db.rollback()
    return list(await db.scalars(select(CalendarEntry.id)))


async def test_add_check_out_pay_and_see_the_paid_order(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    bread_id, slot_id = await _shop(factory)
    await _fill_cart(client, bread_id, slot_id)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")
    assert "£27.00" in (await page_text(client, "/cart/bakery/"))[1]

    to_sumup = await client.post(action, form=fields)

    assert to_sumup.status_code == 303
    hosted = to_sumup.headers["Location"]
    assert hosted.startswith("http://127.0.0.1:8002/sumup-sandbox/pay/")
    order_id, number, public_ref = await _the_order(db)
    _, sumup_page = await page_text(client, local(hosted))
    assert "Pay £27.00" in sumup_page and f"Order {number}" in sumup_page

    back = await press(client, hosted, "pay")  # SumUp posts its webhook, then redirects

    assert local(back.headers["Location"]) == f"/checkout/return/{public_ref}"
    webhooks = sandbox_store(app.app).webhooks_sent
    assert [outcome for _id, outcome in webhooks] == ["204"]
    status, page = await page_text(client, local(back.headers["Location"]))
    assert status == 200
    assert f"Thank you, order {number} is paid" in page
    assert "Sourdough" in page and "Bread class" in page and "£27.00" in page

    assert await stored_order(db, order_id) == ("paid", True, None)
    [entry_id] = await _booking_ids(db)
    assert await entry_state(db, entry_id) == "confirmed"
    assert await live_line_ids(db) == set()
    [event] = await paid_events(db)
    assert (event["number"], event["total_minor"], event["currency"]) == (number, 2700, "GBP")
    _, cart_page = await page_text(client, "/cart/bakery/")
    assert "Your cart for Bakery is empty" in cart_page


async def test_checkout_whose_create_answer_is_lost_pays_the_one_checkout_sumup_made(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    bread_id, slot_id = await _shop(factory)
    await _fill_cart(client, bread_id, slot_id)
    losing = LosesTheFirstCreateAnswer(httpx.ASGITransport(app=ArrivingFromOutside(app.app)))
    app.app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(transport=losing)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")

    lost = await client.post(action, form=fields)

    order_id, number, public_ref = await _the_order(db)
    assert local(lost.headers["Location"]) == f"/checkout/return/{public_ref}"
    _, page = await page_text(client, f"/checkout/return/{public_ref}")
    assert f"The payment service did not answer. Your order {number} is saved" in page
    assert "Pay again £27.00" in page
    [made_at_sumup] = sandbox_store(app.app).find(None)

    again = await client.post(f"/checkout/{public_ref}/pay-again", form={"csrf_token": TOKEN})

    assert again.headers["Location"].endswith(f"/sumup-sandbox/pay/{made_at_sumup.id}")
    await press(client, again.headers["Location"], "pay")
    assert await stored_order(db, order_id) == ("paid", True, None)
    assert len(sandbox_store(app.app).find(None)) == 1
    assert [a[1:] for a in await attempts_of(db, order_id)] == [("PAID", made_at_sumup.id)]
    assert len(await paid_events(db)) == 1


async def test_four_cinnamon_buns_for_11_pounds_pay_with_the_pages_default_card(
    app, client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    # £11.00 is one of the totals SumUp's own sandbox declines; ours decides by card only.
    page = await factory.page(slug="bakery", title="Bakery")
    buns = await factory.product(page_id=page.id, title="Cinnamon bun", price_minor=275)
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
    await client.post(
        "/cart/add", form={"product_id": str(buns.id), "quantity": "4", "csrf_token": TOKEN}
    )
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")
    assert fields and "£11.00" in await (await client.get("/cart/bakery/")).get_data(as_text=True)
    to_pay = await client.post(action, form=fields)

    hosted = local(to_pay.headers["Location"])
    page_html = await (await client.get(hosted)).get_data(as_text=True)
    assert 'value="4242 4242 4242 4242"' in page_html
    paid = await client.post(
        f"{hosted}/pay", form={"csrf_token": TOKEN, "card_number": "4242 4242 4242 4242"}
    )

    order_id, number, _ = await _the_order(db)
    _, thanks = await page_text(client, local(paid.headers["Location"]))
    assert f"Thank you, order {number} is paid" in thanks
    assert await stored_order(db, order_id) == ("paid", True, None)
