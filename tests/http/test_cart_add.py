"""POST /cart/add: from this site or a sibling, with the shared session's CSRF token."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from tests.conftest import postgres_only
from tests.factories import Factory

TOKEN = "cart-csrf-token-" + "z" * 20
ANON_ID = "anon-" + "a" * 20
MARKET = "http://127.0.0.1:8001"  # a sibling origin in config/app-config.yaml


async def start_session(client, **values) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        session["cart_anon_id"] = ANON_ID
        session.update(values)


async def live_lines(db: AsyncSession) -> list[tuple[str | None, int | None, int, int]]:
    """(session, page, product, quantity) of every live line, as committed now."""
    await db.rollback()
    rows = await db.execute(
        select(CartItem.session_id, CartItem.page_id, CartItem.product_id, CartItem.quantity)
        .where(CartItem.deleted_at.is_(None))
        .order_by(CartItem.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
async def bakery(factory: Factory) -> dict[str, int]:
    page = await factory.page(slug="bakery", title="Bakery")
    return {
        "page": page.id,
        "bread": (await factory.product(page_id=page.id, title="Bread", price_minor=250)).id,
        "gone": (await factory.product(page_id=page.id, title="Old jam", available=False)).id,
    }


async def test_adding_a_product_stores_the_line_and_shows_the_pages_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client)

    response = await client.post(
        "/cart/add", form={"product_id": str(bakery["bread"]), "quantity": "2", "csrf_token": TOKEN}
    )

    assert response.status_code == 302 and response.headers["Location"] == "/cart/bakery/"
    html = await (await client.get("/cart/bakery/")).get_data(as_text=True)
    assert (
        'Added 2 × Bread to your cart for Bakery. <a href="/cart/bakery/">See your cart</a>' in html
    )
    assert "£5.00" in html
    assert await live_lines(db) == [(ANON_ID, bakery["page"], bakery["bread"], 2)]


async def test_a_first_add_makes_the_anonymous_id(client, db: AsyncSession, bakery) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN

    await client.post("/cart/add", form={"product_id": str(bakery["bread"]), "csrf_token": TOKEN})

    async with client.session_transaction() as session:
        anon_id = session["cart_anon_id"]
    assert await live_lines(db) == [(anon_id, bakery["page"], bakery["bread"], 1)]


async def test_after_adding_the_shopper_goes_back_to_a_safe_next(  # type: ignore[no-untyped-def]
    client, bakery
) -> None:
    await start_session(client)
    form = {"product_id": str(bakery["bread"]), "csrf_token": TOKEN}

    own = await client.post("/cart/add", form={**form, "next": "/shop/bakery/"})
    sibling = await client.post(
        "/cart/add", form={**form, "next": f"{MARKET}/bakery/bread"}, headers={"Origin": MARKET}
    )
    foreign = await client.post("/cart/add", form={**form, "next": "https://evil.example/"})
    sneaky = await client.post("/cart/add", form={**form, "next": "//evil.example/"})

    assert own.headers["Location"] == "/shop/bakery/"
    assert sibling.headers["Location"] == f"{MARKET}/bakery/bread"
    assert foreign.headers["Location"] == "/cart/bakery/"
    assert sneaky.headers["Location"] == "/cart/bakery/"


async def test_a_form_from_a_sibling_origin_is_accepted(client, db: AsyncSession, bakery) -> None:  # type: ignore[no-untyped-def]
    await start_session(client)
    response = await client.post(
        "/cart/add",
        form={"product_id": str(bakery["bread"]), "csrf_token": TOKEN},
        headers={"Origin": MARKET},
    )
    assert response.status_code == 302
    assert await live_lines(db) == [(ANON_ID, bakery["page"], bakery["bread"], 1)]


async def test_a_form_from_another_origin_is_refused_and_nothing_stored(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client)
    response = await client.post(
        "/cart/add",
        form={"product_id": str(bakery["bread"]), "csrf_token": TOKEN},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 400
    assert await live_lines(db) == []


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
async def test_a_missing_or_wrong_csrf_token_is_refused_and_nothing_stored(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, token
) -> None:
    await start_session(client)
    form = {"product_id": str(bakery["bread"]), "quantity": "1"}
    if token is not None:
        form["csrf_token"] = token

    response = await client.post("/cart/add", form=form)

    assert response.status_code == 400
    assert "did not come from this site" in await response.get_data(as_text=True)
    assert await live_lines(db) == []


BAD_INPUTS = [
    ({"quantity": "0"}, "whole number from 1 to 99"),
    ({"quantity": "-1"}, "whole number from 1 to 99"),
    ({"quantity": "1.5"}, "whole number from 1 to 99"),
    ({"quantity": "abc"}, "whole number from 1 to 99"),
    ({"quantity": ""}, "whole number from 1 to 99"),
    ({"quantity": "99999999999999999999"}, "whole number from 1 to 99"),
    ({"quantity": "100"}, "whole number from 1 to 99"),
    ({"product_id": "abc"}, "We could not find that product"),
    ({"product_id": ""}, "We could not find that product"),
    ({"product_id": "-3"}, "We could not find that product"),
    ({"product_id": "99999999999999999999"}, "We could not find that product"),
    ({"product_id": "424242"}, "We could not find that product"),
    ({"product_id": "GONE"}, "Sorry, Old jam is not available any more"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUTS)
async def test_bad_input_is_explained_on_the_page_and_changes_nothing(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, fields, message
) -> None:
    await start_session(client)
    await client.post(
        "/cart/add", form={"product_id": str(bakery["bread"]), "quantity": "3", "csrf_token": TOKEN}
    )
    before = await live_lines(db)
    form = {"product_id": str(bakery["bread"]), "quantity": "1", "csrf_token": TOKEN, **fields}
    if form["product_id"] == "GONE":
        form["product_id"] = str(bakery["gone"])

    response = await client.post(
        "/cart/add", form={**form, "next": "/shop/bakery/"}, follow_redirects=False
    )

    assert response.status_code == 302 and response.headers["Location"] == "/shop/bakery/"
    html = await (await client.get("/cart/bakery/")).get_data(as_text=True)
    assert message in html and "message-error" in html
    assert await live_lines(db) == before == [(ANON_ID, bakery["page"], bakery["bread"], 3)]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUTS)
async def test_bad_input_asked_for_as_json_is_a_400_with_the_message(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, fields, message
) -> None:
    await start_session(client)
    form = {"product_id": str(bakery["bread"]), "quantity": "1", "csrf_token": TOKEN, **fields}
    if form["product_id"] == "GONE":
        form["product_id"] = str(bakery["gone"])

    response = await client.post("/cart/add", form=form, headers={"Accept": "application/json"})

    assert response.status_code == 400
    body = await response.get_json()
    assert message in body["message"] and body["error"].startswith(("quantity", "product"))
    assert await live_lines(db) == []


async def test_an_error_without_next_goes_back_to_the_referring_page(client, bakery) -> None:  # type: ignore[no-untyped-def]
    await start_session(client)
    form = {"product_id": "abc", "csrf_token": TOKEN}
    back = await client.post("/cart/add", form=form, headers={"Referer": "/shop/bakery/"})
    nowhere = await client.post(
        "/cart/add", form=form, headers={"Referer": "https://evil.example/"}
    )
    assert back.headers["Location"] == "/shop/bakery/"
    assert nowhere.headers["Location"] == "/cart/"


async def test_adding_past_the_limit_is_refused_with_what_the_cart_holds(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client)
    form = {"product_id": str(bakery["bread"]), "csrf_token": TOKEN}
    await client.post("/cart/add", form={**form, "quantity": "90"})

    response = await client.post(
        "/cart/add", form={**form, "quantity": "10"}, follow_redirects=True
    )

    html = await response.get_data(as_text=True)
    assert "A cart can hold at most 99 of Bread; you already have 90. Nothing was added." in html
    assert await live_lines(db) == [(ANON_ID, bakery["page"], bakery["bread"], 90)]


async def test_a_successful_add_asked_for_as_json_answers_with_the_line(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client)
    response = await client.post(
        "/cart/add",
        form={"product_id": str(bakery["bread"]), "quantity": "4", "csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )
    body = await response.get_json()
    assert response.status_code == 200
    assert body["quantity"] == 4 and body["cart_url"] == "/cart/bakery/"
    await db.rollback()
    assert await db.scalar(select(CartItem.quantity).where(CartItem.id == body["line_id"])) == 4


async def test_a_site_level_product_lands_in_the_overviews_site_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory
) -> None:
    mug = (await factory.product(page_id=None, title="Co-op mug", price_minor=800)).id
    await start_session(client)

    response = await client.post("/cart/add", form={"product_id": str(mug), "csrf_token": TOKEN})

    assert response.headers["Location"] == "/cart/"
    html = await (await client.get("/cart/")).get_data(as_text=True)
    assert "Site shop" in html and "Co-op mug" in html and "£8.00" in html
    assert await live_lines(db) == [(ANON_ID, None, mug, 1)]


@postgres_only
async def test_the_same_product_added_in_concurrent_requests_sums_on_one_line(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client)
    form = {"product_id": str(bakery["bread"]), "quantity": "3", "csrf_token": TOKEN}

    responses = await asyncio.gather(*(client.post("/cart/add", form=form) for _ in range(8)))

    assert [r.status_code for r in responses] == [302] * 8
    assert await live_lines(db) == [(ANON_ID, bakery["page"], bakery["bread"], 24)]
