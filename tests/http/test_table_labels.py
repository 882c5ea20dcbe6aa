"""Order tables keep their labels on a phone: the headings are hidden below 36rem, so each
money and quantity cell carries its own label (data-label, shown by static/cart.css)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Factory
from tests.http.checkout_forms import start_session
from tests.http.payment_steps import page_text
from tests.integration.checkout_data import ANON
from tests.integration.payment_data import placed_bakery_order


async def test_order_lines_and_the_order_list_label_each_cell(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    assert ANON.session_id
    await start_session(client, ANON.session_id)

    _, returned = await page_text(client, f"/checkout/return/{placed.public_ref}")
    _, order = await page_text(client, f"/orders/{placed.public_ref}")
    _, listed = await page_text(client, "/orders/")

    for page in (returned, order):
        for label in ("Quantity", "Price", "Total"):
            assert f'data-label="{label}"' in page
        assert '<td data-label="Total" class="money">£5.00</td>' in page  # bread ×2
    for label in ("Date", "Shop", "Status", "Total"):
        assert f'data-label="{label}"' in listed
    css = await (await client.get("/static/cart.css")).get_data(as_text=True)
    assert "td[data-label]::before" in css
