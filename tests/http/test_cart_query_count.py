"""Rendering a cart costs the same number of SQL statements for 1 line as for 50.

Run with -s to see the counts.
"""

from __future__ import annotations

import pytest

from tests.conftest import QueryCounter
from tests.factories import Factory

ANON_ID = "anon-" + "a" * 20
TOKEN = "cart-csrf-token-" + "z" * 20


async def fill_cart(factory: Factory, *, slug: str, products: int, bookings: int) -> None:
    page_id = (await factory.page(slug=slug, title=slug.title())).id
    for n in range(products):
        product_id = (
            await factory.product(page_id=page_id, available=n % 10 != 9, price_minor=100 + n)
        ).id
        await factory.cart_item(product_id=product_id, page_id=page_id, session_id=ANON_ID)
    site_product = (await factory.product(page_id=None)).id
    await factory.cart_item(product_id=site_product, page_id=None, session_id=ANON_ID)
    calendar_id = (await factory.calendar(page_id=page_id)).id
    for _ in range(bookings):
        slot_id = (await factory.slot(calendar_id=calendar_id)).id
        await factory.entry(slot_id=slot_id, session_id=ANON_ID)


async def statements_to_render(client, query_counter: QueryCounter, path: str) -> int:  # type: ignore[no-untyped-def]
    query_counter.reset()
    response = await client.get(path)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "Total" in html
    return query_counter.count


@pytest.mark.parametrize("path", ["/cart/{slug}/", "/cart/"])
async def test_a_cart_of_1_line_and_of_50_lines_costs_the_same_statements(  # type: ignore[no-untyped-def]
    client, factory: Factory, query_counter: QueryCounter, path: str
) -> None:
    async with client.session_transaction() as session:
        session["cart_anon_id"] = ANON_ID
        session["csrf_token"] = TOKEN

    await fill_cart(factory, slug="small", products=1, bookings=1)
    small = await statements_to_render(client, query_counter, path.format(slug="small"))
    await fill_cart(factory, slug="large", products=50, bookings=50)
    large = await statements_to_render(client, query_counter, path.format(slug="large"))

    print(f"\n{path}: {small} SQL statements for 1 line + 1 booking, {large} for 50 + 50")
    assert small == large
    # lines, products, bookings, the cart's pending order, and the page (by slug) or the
    # pages (by id)
    assert large == 5, query_counter.statements
