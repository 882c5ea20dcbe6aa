"""Changing a quantity and removing a line from the cart pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from tests.factories import Factory

TOKEN = "cart-csrf-token-" + "z" * 20
ANON_ID = "anon-" + "a" * 20
SOMEONE_ELSE = "anon-" + "b" * 20


async def start_session(client, **values) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        session["cart_anon_id"] = ANON_ID
        session.update(values)


async def stored(db: AsyncSession) -> list[tuple[int, int, bool]]:
    """(line id, quantity, live) of every line, as committed now."""
    await db.rollback()
    rows = await db.execute(
        select(CartItem.id, CartItem.quantity, CartItem.deleted_at.is_(None)).order_by(CartItem.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
async def lines(factory: Factory) -> dict[str, int]:
    page_id = (await factory.page(slug="bakery", title="Bakery")).id
    bread = (await factory.product(page_id=page_id, title="Bread", price_minor=250)).id
    jam = (await factory.product(page_id=page_id, title="Jam", price_minor=400)).id
    mine = await factory.cart_item(
        product_id=bread, page_id=page_id, session_id=ANON_ID, quantity=2
    )
    theirs = await factory.cart_item(
        product_id=jam, page_id=page_id, session_id=SOMEONE_ELSE, quantity=1
    )
    return {"mine": mine.id, "theirs": theirs.id}


async def test_changing_a_quantity_updates_line_and_total(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    response = await client.post(
        f"/cart/lines/{lines['mine']}/quantity",
        form={"quantity": "5", "csrf_token": TOKEN, "next": "/cart/bakery/"},
        follow_redirects=True,
    )
    html = await response.get_data(as_text=True)
    assert "Bread: quantity changed to 5." in html
    assert 'value="5"' in html and "£12.50" in html
    assert await stored(db) == [(lines["mine"], 5, True), (lines["theirs"], 1, True)]


async def test_removing_a_line_soft_deletes_it_and_the_page_says_the_cart_is_empty(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    response = await client.post(
        f"/cart/lines/{lines['mine']}/remove",
        form={"csrf_token": TOKEN, "next": "/cart/bakery/"},
        follow_redirects=True,
    )
    html = await response.get_data(as_text=True)
    assert "Bread: removed from your cart." in html
    assert "Your cart for Bakery is empty." in html
    assert await stored(db) == [(lines["mine"], 2, False), (lines["theirs"], 1, True)]


@pytest.mark.parametrize("action", ["quantity", "remove"])
async def test_another_shoppers_line_is_refused_and_unchanged(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines, action
) -> None:
    await start_session(client)
    before = await stored(db)

    response = await client.post(
        f"/cart/lines/{lines['theirs']}/{action}",
        form={"quantity": "9", "csrf_token": TOKEN},
        follow_redirects=True,
    )
    as_json = await client.post(
        f"/cart/lines/{lines['theirs']}/{action}",
        form={"quantity": "9", "csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )

    assert "That item is not in your cart (any more). Nothing was changed." in (
        await response.get_data(as_text=True)
    )
    assert as_json.status_code == 404
    assert (await as_json.get_json())["error"] == "line_unknown"
    assert await stored(db) == before


@pytest.mark.parametrize("action", ["quantity", "remove"])
async def test_a_visitor_without_a_cart_cannot_touch_any_line(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines, action
) -> None:
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN  # no cart_anon_id
    before = await stored(db)
    response = await client.post(
        f"/cart/lines/{lines['mine']}/{action}",
        form={"quantity": "9", "csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 404
    assert await stored(db) == before


@pytest.mark.parametrize("line_id", ["424242", "99999999999999999999"])
async def test_an_unknown_line_id_is_a_404_not_a_500(
    client, db: AsyncSession, lines, line_id
) -> None:  # type: ignore[no-untyped-def]
    await start_session(client)
    before = await stored(db)
    for action in ("quantity", "remove"):
        response = await client.post(
            f"/cart/lines/{line_id}/{action}",
            form={"quantity": "2", "csrf_token": TOKEN},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 404
    assert await stored(db) == before


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "abc", "", "99999999999999999999", "100"])
async def test_a_bad_quantity_is_explained_and_changes_nothing(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines, quantity
) -> None:
    await start_session(client)
    before = await stored(db)

    response = await client.post(
        f"/cart/lines/{lines['mine']}/quantity",
        form={"quantity": quantity, "csrf_token": TOKEN, "next": "/cart/bakery/"},
        follow_redirects=True,
    )
    as_json = await client.post(
        f"/cart/lines/{lines['mine']}/quantity",
        form={"quantity": quantity, "csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )

    html = await response.get_data(as_text=True)
    assert "Please enter the quantity as a whole number from 1 to 99. Nothing was changed." in html
    assert as_json.status_code == 400
    assert await stored(db) == before


@pytest.mark.parametrize("action", ["quantity", "remove"])
async def test_without_the_csrf_token_nothing_changes(
    client, db: AsyncSession, lines, action
) -> None:  # type: ignore[no-untyped-def]
    await start_session(client)
    before = await stored(db)
    response = await client.post(f"/cart/lines/{lines['mine']}/{action}", form={"quantity": "4"})
    assert response.status_code == 400
    assert await stored(db) == before
