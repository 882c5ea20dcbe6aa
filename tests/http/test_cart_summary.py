"""GET /cart/summary.json: the item count and totals per page for the navigation badge."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from tests.factories import Factory

ANON_ID = "anon-" + "a" * 20


async def test_summary_counts_items_and_totals_per_page_and_for_the_site(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    bakery = (await factory.page(slug="bakery", title="Bakery")).id
    bread = (await factory.product(page_id=bakery, title="Bread", price_minor=250)).id
    mug = (await factory.product(page_id=None, title="Mug", price_minor=800)).id
    calendar_id = (await factory.calendar(page_id=bakery)).id
    slot_id = (await factory.slot(calendar_id=calendar_id, price_minor=1500)).id
    await factory.entry(slot_id=slot_id, session_id=ANON_ID)
    await factory.cart_item(product_id=bread, page_id=bakery, session_id=ANON_ID, quantity=2)
    await factory.cart_item(product_id=mug, page_id=None, session_id=ANON_ID, quantity=1)
    async with client.session_transaction() as session:
        session["cart_anon_id"] = ANON_ID

    response = await client.get("/cart/summary.json")

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert await response.get_json() == {
        "item_count": 4,
        "pages": [
            {
                "slug": "bakery",
                "title": "Bakery",
                "item_count": 3,
                "totals": [{"currency": "GBP", "amount_minor": 2000, "formatted": "£20.00"}],
            }
        ],
        "site": {
            "item_count": 1,
            "totals": [{"currency": "GBP", "amount_minor": 800, "formatted": "£8.00"}],
        },
    }


async def test_an_anonymous_visitor_without_a_cart_gets_an_empty_summary_and_no_cookie(  # type: ignore[no-untyped-def]
    client, db: AsyncSession
) -> None:
    response = await client.get("/cart/summary.json")

    assert await response.get_json() == {"item_count": 0, "pages": [], "site": None}
    assert "Set-Cookie" not in response.headers
    assert await db.scalar(select(func.count()).select_from(CartItem)) == 0
