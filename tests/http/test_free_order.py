"""A free order (free bookings, a total of 0) is paid at checkout, without SumUp."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order, PaymentAttempt
from shared.models import CalendarEntry
from tests.contract.calendar_data import slot_on_page
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, rendered_checkout_form, start_session
from tests.http.payment_steps import local, page_text
from tests.integration.checkout_data import count_rows
from tests.integration.order_ops_data import payloads
from tests.integration.payment_data import entry_state


async def test_free_booking_checkout_is_paid_at_once_without_sumup(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    page = await factory.page(slug="garden", title="Garden")
    slot = await slot_on_page(factory, page_id=page.id, title="Open day", price_minor=0)
    await start_session(client, "anon-free-" + "f" * 16)
    booked = await client.post(
        "/shop/garden/book", form={"slot_id": str(slot.id), "csrf_token": TOKEN}
    )
    assert booked.status_code == 302
    action, fields = await rendered_checkout_form(client, "/cart/garden/")

    done = await client.post(action, form=fields)

    await db.rollback()
    order = (
        await db.execute(select(Order.id, Order.public_ref, Order.status, Order.total_minor))
    ).one()
    assert done.status_code == 303
    assert local(done.headers["Location"]) == f"/checkout/return/{order.public_ref}"
    assert (order.status, order.total_minor) == ("paid", 0)
    assert await count_rows(db, PaymentAttempt) == 0  # SumUp never asked
    [entry_id] = await db.scalars(select(CalendarEntry.id))
    assert await entry_state(db, entry_id) == "confirmed"
    assert len(await payloads(db, "order.created")) == 1
    [paid] = await payloads(db, "order.paid")
    assert (paid["order_ref"], paid["free"], paid["checkout_reference"]) == (
        order.public_ref,
        True,
        None,
    )
    status, page_html = await page_text(client, local(done.headers["Location"]))
    assert status == 200 and "is paid" in page_html
    _, cart = await page_text(client, "/cart/garden/")
    assert "Open day" not in cart
