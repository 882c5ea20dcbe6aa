"""The embedded default's stand-in shop pages: products to add, slots to book."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import CalendarEntry
from tests.factories import Factory

TOKEN = "demo-csrf-token-" + "y" * 20


async def _with_token(client) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as client_session:
        client_session["csrf_token"] = TOKEN


async def _anon_id(client) -> str | None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as client_session:
        return client_session.get("cart_anon_id")


async def _entries(db: AsyncSession) -> list[CalendarEntry]:
    db.expire_all()
    return list(await db.scalars(select(CalendarEntry).order_by(CalendarEntry.id)))


@pytest.fixture
async def bakery(factory: Factory) -> dict[str, int]:
    page = await factory.page(slug="the-bakery", title="The Bakery")
    loaf = await factory.product(page_id=page.id, title="Sourdough loaf", price_minor=450)
    await factory.product(page_id=page.id, title="Seeded baguette", available=False)
    calendar = await factory.calendar(page_id=page.id)
    small = await factory.slot(calendar_id=calendar.id, title="Pastry morning", places=3)
    full = await factory.slot(calendar_id=calendar.id, title="Full class", places=1)
    await factory.entry(slot_id=full.id, state="confirmed", session_id="someone-else-" * 2)
    past_start = datetime.now(UTC) - timedelta(days=1)
    past = await factory.slot(
        calendar_id=calendar.id,
        title="Last week's class",
        starts_at=past_start,
        ends_at=past_start + timedelta(hours=2),
    )
    return {
        "page": page.id,
        "loaf": loaf.id,
        "small": small.id,
        "full": full.id,
        "past": past.id,
    }


async def test_home_links_each_page_shop_and_the_site_shop(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    await factory.page(slug="the-bakery", title="The Bakery")
    await factory.page(slug="community-garden", title="Community Garden")
    await factory.product(page_id=None, title="Co-op mug")

    html = await (await client.get("/")).get_data(as_text=True)

    assert '<a href="/shop/the-bakery/">The Bakery</a>' in html
    assert '<a href="/shop/community-garden/">Community Garden</a>' in html
    assert 'href="/shop/"' in html
    assert "stand in for the market and events services" in html


async def test_home_without_site_products_has_no_site_shop_link(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    await factory.page(slug="the-bakery", title="The Bakery")
    html = await (await client.get("/")).get_data(as_text=True)
    assert 'href="/shop/the-bakery/"' in html and 'href="/shop/"' not in html


async def test_shop_lists_available_products_with_add_to_cart_forms(client, bakery) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/shop/the-bakery/")
    html = await response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<h1>The Bakery</h1>" in html
    assert "Sourdough loaf" in html and "£4.50" in html
    assert "Seeded baguette" not in html  # unavailable: not offered
    form = re.search(r'<form method="post" action="/cart/add">(.*?)</form>', html, re.S)
    assert form is not None
    fields = form.group(1)
    assert f'name="product_id" value="{bakery["loaf"]}"' in fields
    assert 'name="next" value="/shop/the-bakery/"' in fields
    assert re.search(r'name="csrf_token" value="[^"]{20,}"', fields)
    assert f'<label for="quantity-{bakery["loaf"]}">Quantity<span' in fields
    assert "> of Sourdough loaf</span></label>" in fields
    assert f'id="quantity-{bakery["loaf"]}" name="quantity"' in fields


async def test_shop_lists_future_slots_with_places_left_and_book_forms(client, bakery) -> None:  # type: ignore[no-untyped-def]
    html = await (await client.get("/shop/the-bakery/")).get_data(as_text=True)

    assert "Pastry morning" in html and "3 of 3 places left" in html
    assert f'name="slot_id" value="{bakery["small"]}"' in html
    # A full slot is shown as such, with no form; a past one is not shown at all.
    assert "Full class" in html and "fully booked" in html
    assert f'name="slot_id" value="{bakery["full"]}"' not in html
    assert "Last week's class" not in html
    assert 'action="/shop/the-bakery/book"' in html


async def test_unknown_shop_is_404(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/shop/no-such-page/")
    assert response.status_code == 404
    assert "There is no shop at this address." in await response.get_data(as_text=True)


async def test_site_shop_lists_products_without_a_page(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    page = await factory.page(title="The Bakery")
    await factory.product(page_id=None, title="Co-op mug", price_minor=1200)
    await factory.product(page_id=page.id, title="Sourdough loaf")

    html = await (await client.get("/shop/")).get_data(as_text=True)

    assert "Co-op mug" in html and "£12.00" in html
    assert "Sourdough loaf" not in html
    assert "Book a place" not in html


async def test_booking_makes_a_pending_entry_and_shows_it_in_the_page_cart(
    client, bakery, db: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    await _with_token(client)
    response = await client.post(
        "/shop/the-bakery/book", form={"csrf_token": TOKEN, "slot_id": str(bakery["small"])}
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cart/the-bakery/")
    [entry] = [e for e in await _entries(db) if e.state == "pending"]
    assert (entry.slot_id, entry.state, entry.user_id) == (bakery["small"], "pending", None)
    assert entry.session_id == await _anon_id(client)

    cart = await client.get("/cart/the-bakery/")
    html = await cart.get_data(as_text=True)
    assert "Booked: Pastry morning." in html
    assert "Pastry morning" in html.split("Booked: Pastry morning.", 1)[1]


async def test_booking_while_signed_in_belongs_to_the_user(
    client, bakery, factory: Factory, db: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    user_id = (await factory.user()).id
    async with client.session_transaction() as client_session:
        client_session["csrf_token"] = TOKEN
        client_session["user_id"] = user_id

    await client.post(
        "/shop/the-bakery/book", form={"csrf_token": TOKEN, "slot_id": str(bakery["small"])}
    )

    [entry] = [e for e in await _entries(db) if e.state == "pending"]
    assert (entry.user_id, entry.session_id, entry.state) == (user_id, None, "pending")


@pytest.mark.parametrize(
    "slot_key", ["past", "garbage", "empty", "missing", "negative", "huge", "beyond_integer"]
)
async def test_booking_a_slot_the_shop_does_not_offer_changes_nothing(
    client, bakery, db: AsyncSession, slot_key: str
) -> None:  # type: ignore[no-untyped-def]
    slot_values = {
        "past": str(bakery["past"]),
        "garbage": "abc",
        "empty": "",
        "missing": str(bakery["small"] + 1000),
        "negative": "-1",
        "huge": "9" * 40,
        "beyond_integer": str(2**31),
    }
    await _with_token(client)
    response = await client.post(
        "/shop/the-bakery/book",
        form={"csrf_token": TOKEN, "slot_id": slot_values[slot_key]},
        follow_redirects=True,
    )
    html = await response.get_data(as_text=True)

    assert response.status_code == 200
    assert "That slot cannot be booked: choose one of the slots listed." in html
    assert "<h1>The Bakery</h1>" in html  # back on the shop page
    assert [e.state for e in await _entries(db)] == ["confirmed"]  # only the fixture's


async def test_booking_another_pages_slot_from_this_shop_is_refused(
    client, bakery, factory: Factory, db: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    garden = await factory.page(slug="community-garden", title="Community Garden")
    calendar = await factory.calendar(page_id=garden.id)
    garden_slot_id = (await factory.slot(calendar_id=calendar.id)).id

    await _with_token(client)
    response = await client.post(
        "/shop/the-bakery/book",
        form={"csrf_token": TOKEN, "slot_id": str(garden_slot_id)},
        follow_redirects=True,
    )

    assert "That slot cannot be booked" in await response.get_data(as_text=True)
    assert [e.state for e in await _entries(db)] == ["confirmed"]


async def test_booking_a_sold_out_slot_says_so_and_changes_nothing(
    client, bakery, db: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    await _with_token(client)
    response = await client.post(
        "/shop/the-bakery/book",
        form={"csrf_token": TOKEN, "slot_id": str(bakery["full"])},
        follow_redirects=True,
    )

    assert "Sorry, Full class is fully booked." in await response.get_data(as_text=True)
    assert [e.state for e in await _entries(db)] == ["confirmed"]


async def test_booking_without_the_csrf_token_is_refused(client, bakery, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    await _with_token(client)
    response = await client.post("/shop/the-bakery/book", form={"slot_id": str(bakery["small"])})

    assert response.status_code == 400
    assert "did not come from this site" in await response.get_data(as_text=True)
    assert [e.state for e in await _entries(db)] == ["confirmed"]


async def test_booking_at_an_unknown_shop_is_404(client, bakery, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    await _with_token(client)
    response = await client.post(
        "/shop/nowhere/book", form={"csrf_token": TOKEN, "slot_id": str(bakery["small"])}
    )
    assert response.status_code == 404
    assert [e.state for e in await _entries(db)] == ["confirmed"]
