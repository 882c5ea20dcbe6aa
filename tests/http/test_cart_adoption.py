"""Signing in (the blog sets `user_id`) adopts the anonymous cart on the next request."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from shared.models import CalendarEntry
from tests.conftest import postgres_only
from tests.factories import Factory

TOKEN = "cart-csrf-token-" + "z" * 20
ANON_ID = "anon-" + "a" * 20


async def session_values(client) -> dict:  # type: ignore[no-untyped-def, type-arg]
    async with client.session_transaction() as session:
        return dict(session)


async def live_lines(db: AsyncSession) -> dict[tuple[int | None, str | None, int], int]:
    await db.rollback()
    rows = await db.execute(
        select(CartItem.user_id, CartItem.session_id, CartItem.product_id, CartItem.quantity).where(
            CartItem.deleted_at.is_(None)
        )
    )
    return {(u, s, p): q for u, s, p, q in rows}


async def entry_owners(db: AsyncSession) -> list[tuple[int | None, str | None]]:
    await db.rollback()
    rows = await db.execute(select(CalendarEntry.user_id, CalendarEntry.session_id))
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
async def shopper(factory: Factory) -> dict[str, int]:
    """Anonymously: bread ×2, jam ×1 and a class booked; the user already has bread ×1."""
    page_id = (await factory.page(slug="bakery", title="Bakery")).id
    user_id = (await factory.user()).id
    bread = (await factory.product(page_id=page_id, title="Bread", price_minor=250)).id
    jam = (await factory.product(page_id=page_id, title="Jam", price_minor=400)).id
    calendar_id = (await factory.calendar(page_id=page_id)).id
    slot_id = (await factory.slot(calendar_id=calendar_id, title="Baking class")).id
    await factory.entry(slot_id=slot_id, session_id=ANON_ID)
    await factory.cart_item(product_id=bread, page_id=page_id, session_id=ANON_ID, quantity=2)
    await factory.cart_item(product_id=jam, page_id=page_id, session_id=ANON_ID, quantity=1)
    await factory.cart_item(product_id=bread, page_id=page_id, user_id=user_id, quantity=1)
    return {"user": user_id, "bread": bread, "jam": jam}


async def sign_in(client, user_id: int) -> None:  # type: ignore[no-untyped-def]
    """What the blog does: `user_id` in the shared session; `cart_anon_id` is still there."""
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        session["cart_anon_id"] = ANON_ID
        session["user_id"] = user_id


async def test_the_first_request_after_signing_in_merges_and_says_what(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, shopper
) -> None:
    await sign_in(client, shopper["user"])

    html = await (await client.get("/cart/bakery/")).get_data(as_text=True)

    assert "3 items from before you signed in were added to your cart" in html
    assert "Bread ×3 now" in html and "Jam ×1 now" in html
    assert "1 booking moved to your cart too." in html
    assert "Baking class" in html and "£7.50" in html  # bread 3 × £2.50, on the user's cart
    assert await live_lines(db) == {
        (shopper["user"], None, shopper["bread"]): 3,
        (shopper["user"], None, shopper["jam"]): 1,
    }
    assert await entry_owners(db) == [(shopper["user"], None)]
    assert "cart_anon_id" not in await session_values(client)

    # Said once, merged once.
    again = await (await client.get("/cart/bakery/")).get_data(as_text=True)
    assert "from before you signed in" not in again
    assert (await live_lines(db))[(shopper["user"], None, shopper["bread"])] == 3


async def test_a_merge_past_the_limit_keeps_the_limit_and_tells_the_shopper(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, shopper, settings
) -> None:
    await db.execute(
        CartItem.__table__.update()
        .where(CartItem.user_id == shopper["user"], CartItem.product_id == shopper["bread"])
        .values(quantity=settings.max_quantity)
    )
    await db.commit()
    await sign_in(client, shopper["user"])

    html = await (await client.get("/cart/")).get_data(as_text=True)

    assert "Bread: a cart holds at most 99 of one product, so we kept that many." in html
    assert (await live_lines(db))[(shopper["user"], None, shopper["bread"])] == 99


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/static/cart.css"])
async def test_probes_and_static_files_do_not_adopt(
    client, db: AsyncSession, shopper, path
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(client, shopper["user"])
    before = await live_lines(db)

    assert (await client.get(path)).status_code == 200

    assert await live_lines(db) == before
    assert (await session_values(client))["cart_anon_id"] == ANON_ID


async def test_a_visitor_who_is_not_signed_in_keeps_their_anonymous_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, shopper
) -> None:
    async with client.session_transaction() as session:
        session["cart_anon_id"] = ANON_ID
    before = await live_lines(db)
    html = await (await client.get("/cart/bakery/")).get_data(as_text=True)
    assert "Bread" in html and "Jam" in html
    assert await live_lines(db) == before


async def test_a_mangled_anonymous_id_is_dropped_without_adopting(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, shopper
) -> None:
    async with client.session_transaction() as session:
        session["user_id"] = shopper["user"]
        session["cart_anon_id"] = "short"
    before = await live_lines(db)
    assert (await client.get("/cart/")).status_code == 200
    assert await live_lines(db) == before
    assert "cart_anon_id" not in await session_values(client)


@postgres_only
async def test_two_requests_racing_right_after_sign_in_adopt_each_item_once(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, shopper
) -> None:
    await sign_in(client, shopper["user"])

    # Both requests carry the same cookie (user_id and cart_anon_id), as a browser loading
    # two tabs at once would; each runs the adoption hook in its own transaction.
    responses = await asyncio.gather(
        client.get("/cart/bakery/"), client.get("/cart/"), client.get("/cart/summary.json")
    )

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert await live_lines(db) == {
        (shopper["user"], None, shopper["bread"]): 3,
        (shopper["user"], None, shopper["jam"]): 1,
    }
    assert await entry_owners(db) == [(shopper["user"], None)]
    # Exactly one request adopted (and told); the summary counts the merged cart.
    told = ["from before you signed in" in await r.get_data(as_text=True) for r in responses[:2]]
    assert told.count(True) <= 1
    summary = await (await client.get("/cart/summary.json")).get_json()
    assert summary["item_count"] == 3 + 1 + 1
