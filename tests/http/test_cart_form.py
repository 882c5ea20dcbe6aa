"""A cart page's one form (POST /cart/lines): every quantity and each Remove button of the
whole cart, as the page rendered it, one CSRF token for all."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from tests.factories import Factory
from tests.http.cart_form import CART_FORM_ACTION, pressing, updating
from tests.http.checkout_forms import rendered_checkout_form
from tests.http.test_cart_lines import ANON_ID, SOMEONE_ELSE, start_session

PAGE = "/cart/bakery/"
JSON = {"Accept": "application/json"}


@pytest.fixture
async def lines(factory: Factory) -> dict[str, int]:
    page_id = (await factory.page(slug="bakery", title="Bakery")).id
    bread = (await factory.product(page_id=page_id, title="Bread", price_minor=250)).id
    jam = (await factory.product(page_id=page_id, title="Jam", price_minor=400)).id
    scones = (await factory.product(page_id=page_id, title="Scones", price_minor=300)).id
    bread_line = await factory.cart_item(
        product_id=bread, page_id=page_id, session_id=ANON_ID, quantity=2
    )
    jam_line = await factory.cart_item(
        product_id=jam, page_id=page_id, session_id=ANON_ID, quantity=1
    )
    theirs = await factory.cart_item(
        product_id=scones, page_id=page_id, session_id=SOMEONE_ELSE, quantity=1
    )
    return {"bread": bread_line.id, "jam": jam_line.id, "theirs": theirs.id}


async def quantities(db: AsyncSession) -> dict[int, int | None]:
    """Line id -> quantity of every line as committed now (None: removed)."""
    await db.rollback()
    rows = await db.execute(select(CartItem.id, CartItem.quantity, CartItem.deleted_at))
    return {row.id: None if row.deleted_at else row.quantity for row in rows}


async def cart_page(client) -> str:  # type: ignore[no-untyped-def]
    response = await client.get(PAGE)
    assert response.status_code == 200
    return await response.get_data(as_text=True)


async def test_update_sets_each_changed_quantity_and_names_the_products(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    sent = updating(
        await cart_page(client),
        **{f"quantity-{lines['bread']}": "5", f"quantity-{lines['jam']}": "3"},
    )
    response = await client.post(CART_FORM_ACTION, form=sent, follow_redirects=True)

    html = await response.get_data(as_text=True)
    assert "Bread: quantity changed to 5. Jam: quantity changed to 3." in html
    assert "£24.50" in html  # 5 × £2.50 + 3 × £4.00
    assert await quantities(db) == {lines["bread"]: 5, lines["jam"]: 3, lines["theirs"]: 1}


async def test_a_form_sent_back_unchanged_changes_nothing_and_says_so(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    response = await client.post(
        CART_FORM_ACTION, form=updating(await cart_page(client)), follow_redirects=True
    )
    assert "Nothing was changed: the quantities were already as shown." in (
        await response.get_data(as_text=True)
    )
    assert await quantities(db) == {lines["bread"]: 2, lines["jam"]: 1, lines["theirs"]: 1}


@pytest.mark.parametrize("typed", ["", "0", "two", "1.5", "-1", "100", "٣", " "])
async def test_one_bad_quantity_names_its_product_and_changes_none(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines, typed: str
) -> None:
    await start_session(client)
    sent = updating(
        await cart_page(client),
        **{f"quantity-{lines['bread']}": "5", f"quantity-{lines['jam']}": typed},
    )
    response = await client.post(CART_FORM_ACTION, form=sent)

    # The page again, with the error (tests/http/test_cart_form_errors.py has the rest).
    assert response.status_code == 400
    page = await response.get_data(as_text=True)
    assert "Enter the quantity of Jam as a whole number from 1 to 99" in page
    assert "Nothing was changed" in page
    assert await quantities(db) == {lines["bread"]: 2, lines["jam"]: 1, lines["theirs"]: 1}


async def test_a_stale_form_after_checking_out_in_another_tab_changes_nothing(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    """Two tabs: the cart form of the first, sent after the second checked the cart out.
    The lines are held by the order now: the change is refused, all or nothing (Bread is
    set back free first, so that its change is made and must be rolled back)."""
    await start_session(client)
    page = await cart_page(client)
    action, fields = await rendered_checkout_form(client, PAGE)
    assert (await client.post(action, form=fields)).status_code == 303
    await db.execute(update(CartItem).where(CartItem.id == lines["bread"]).values(order_id=None))
    await db.commit()

    sent = updating(page, **{f"quantity-{lines['bread']}": "5", f"quantity-{lines['jam']}": "4"})
    response = await client.post(CART_FORM_ACTION, form=sent, follow_redirects=True)

    # The HTML answer is a redirect (a success to the request's transaction): what was
    # changed before the refusal must have been rolled back by the use case itself.
    assert "That item is part of an order waiting for payment" in (
        await response.get_data(as_text=True)
    )
    assert await quantities(db) == {lines["bread"]: 2, lines["jam"]: 1, lines["theirs"]: 1}


@pytest.mark.parametrize("field", ["quantity-{theirs}", "quantity-999999", "quantity-x"])
async def test_another_shoppers_or_an_unknown_line_is_refused_and_nothing_changes(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines, field: str
) -> None:
    await start_session(client)
    sent = updating(
        await cart_page(client),
        **{f"quantity-{lines['bread']}": "5", field.format(theirs=lines["theirs"]): "3"},
    )
    response = await client.post(CART_FORM_ACTION, form=sent, headers=JSON)

    assert response.status_code == 404
    assert (await response.get_json())["error"] == "line_unknown"
    assert await quantities(db) == {lines["bread"]: 2, lines["jam"]: 1, lines["theirs"]: 1}


async def test_a_lines_remove_button_removes_that_line_only(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    sent = pressing(await cart_page(client), "remove", lines["jam"])
    response = await client.post(CART_FORM_ACTION, form=sent)

    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert await quantities(db) == {lines["bread"]: 2, lines["jam"]: None, lines["theirs"]: 1}


async def test_another_shoppers_line_cannot_be_removed_through_the_form(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    sent = {**updating(await cart_page(client)), "remove": str(lines["theirs"])}
    response = await client.post(CART_FORM_ACTION, form=sent, headers=JSON)

    assert response.status_code == 404
    assert await quantities(db) == {lines["bread"]: 2, lines["jam"]: 1, lines["theirs"]: 1}


async def test_without_the_csrf_token_nothing_changes(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    sent = updating(await cart_page(client), **{f"quantity-{lines['bread']}": "5"})
    del sent["csrf_token"]
    response = await client.post(CART_FORM_ACTION, form=sent)

    assert response.status_code == 400
    assert await quantities(db) == {lines["bread"]: 2, lines["jam"]: 1, lines["theirs"]: 1}
