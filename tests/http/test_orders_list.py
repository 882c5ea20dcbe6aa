"""GET /orders/: the shopper's orders as they read them, page numbers, and a fixed query count."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import Owner
from tests.factories import Factory
from tests.http.checkout_forms import start_session
from tests.http.payment_steps import page_text
from tests.integration.orders_data import make_orders

ANON = Owner(session_id="anon-" + "a" * 20)
OTHER_ANON = Owner(session_id="anon-" + "b" * 20)


async def sign_in(client, user_id: int) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["user_id"] = user_id


def order_numbers(page: str) -> list[str]:
    return re.findall(r">Order ([A-Z0-9]{5}-LIST)</a>", page)


async def test_an_anonymous_shopper_sees_their_orders_with_date_shop_status_and_total(
    client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    bakery = (await factory.page(title="Bakery & Co")).id
    [paid] = await make_orders(db, ANON, 1, page_id=bakery, total_minor=2400)
    [waiting] = await make_orders(db, ANON, 1, status="pending", total_minor=950)
    [someone_elses] = await make_orders(db, OTHER_ANON, 1)

    status, page = await page_text(client, "/orders/")

    assert status == 200
    assert order_numbers(page) == [waiting.number, paid.number]  # newest first
    assert f'href="/orders/{paid.public_ref}"' in page
    assert "1 Jan 2030, 12:00 GMT" in page  # stored in UTC, shown in London's time
    assert "Bakery &amp; Co" in page and "Site shop" in page  # escaped; the site's own shop
    assert "Paid" in page and "Waiting for payment" in page
    assert "£24.00" in page and "£9.50" in page
    assert someone_elses.number not in page and someone_elses.public_ref not in page
    assert 'href="/orders/">Your orders</a>' in page  # the nav link


async def test_a_signed_in_user_sees_their_orders_and_not_their_browsers_old_anonymous_ones(
    client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    me, other = (await factory.user()).id, (await factory.user()).id
    mine = await make_orders(db, Owner(user_id=me), 2)
    [others] = await make_orders(db, Owner(user_id=other), 1)
    [anonymous] = await make_orders(db, ANON, 1)
    await sign_in(client, me)

    _, page = await page_text(client, "/orders/")

    assert order_numbers(page) == [mine[1].number, mine[0].number]
    assert others.number not in page and anonymous.number not in page


async def test_a_visitor_without_orders_is_told_so(client) -> None:  # type: ignore[no-untyped-def]
    status, page = await page_text(client, "/orders/")

    assert status == 200
    assert "You have no orders yet." in page


async def test_pages_link_to_each_other_and_a_page_past_the_end_shows_the_last(
    client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    me = (await factory.user()).id
    made = await make_orders(db, Owner(user_id=me), 25)
    await sign_in(client, me)

    _, first = await page_text(client, "/orders/")
    _, second = await page_text(client, "/orders/?page=2")
    status, past_the_end = await page_text(client, "/orders/?page=9")

    assert len(order_numbers(first)) == 20 and order_numbers(first)[0] == made[-1].number
    assert "Page 1 of 2" in first and 'href="/orders/?page=2">Older orders' in first
    assert "Newer orders" not in first
    assert order_numbers(second) == [o.number for o in reversed(made[:5])]
    assert 'href="/orders/?page=1">Newer orders' in second and "Older orders" not in second
    assert status == 200 and order_numbers(past_the_end) == order_numbers(second)
    assert "Page 2 of 2" in past_the_end


@pytest.mark.parametrize(
    "raw",
    ["abc", "0", "-1", "1.5", "10001", "9" * 30, "", "%202", "+2", "2_0", "%D9%A3", "%00", "1e3"],
)
async def test_a_bad_page_number_is_a_400_saying_what_a_page_number_is(
    client, db: AsyncSession, factory: Factory, raw: str
) -> None:  # type: ignore[no-untyped-def]
    me = (await factory.user()).id
    await make_orders(db, Owner(user_id=me), 1)
    await sign_in(client, me)

    status, page = await page_text(client, f"/orders/?page={raw}")

    assert status == 400
    assert "Page numbers are whole numbers from 1 to 10,000." in page


async def test_the_list_costs_the_same_queries_for_one_order_and_for_many(
    client, db: AsyncSession, factory: Factory, query_counter
) -> None:  # type: ignore[no-untyped-def]
    me = (await factory.user()).id
    pages = [(await factory.page()).id for _ in range(3)]
    await make_orders(db, Owner(user_id=me), 1, page_id=pages[0])
    await sign_in(client, me)

    query_counter.reset()
    assert (await client.get("/orders/")).status_code == 200
    with_one = query_counter.count

    for page_id in pages:
        await make_orders(db, Owner(user_id=me), 15, page_id=page_id)
    query_counter.reset()
    _, first = await page_text(client, "/orders/")
    with_many = query_counter.count
    query_counter.reset()
    _, last = await page_text(client, "/orders/?page=3")
    on_the_last_page = query_counter.count

    assert len(order_numbers(first)) == 20 and len(order_numbers(last)) == 6
    # A count, a page of orders, their pages: three, however many orders there are; and the
    # page header's (bp/cart/site_header.py), three with this empty cart: its lines and its
    # bookings for the item count, the signed-in user's name.
    assert with_one == with_many == on_the_last_page == 3 + 3
