"""The demo sign-in and sign-out (the blog's stand-in) and the adoption they lead to."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from shared.models import CalendarEntry
from tests.factories import Factory

TOKEN = "demo-csrf-token-" + "z" * 20


async def _session_value(client, key: str):  # type: ignore[no-untyped-def]
    async with client.session_transaction() as client_session:
        return client_session.get(key)


async def _with_token(client, **values) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as client_session:
        client_session["csrf_token"] = TOKEN
        client_session.update(values)


async def test_sign_in_page_lists_the_demo_users_with_labelled_choices(
    client, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    alice = await factory.user(email="alice@demo.invalid", display_name="Alice")
    await factory.user(email="bob@demo.invalid", display_name="Bob")

    html = await (await client.get("/demo/sign-in")).get_data(as_text=True)

    assert f'<label for="user-{alice.id}">Alice (alice@demo.invalid)</label>' in html
    assert "Bob (bob@demo.invalid)" in html
    assert 'name="csrf_token"' in html
    assert "Sign out" not in html  # nobody is signed in yet


async def test_signing_in_sets_the_shared_session_key_and_goes_to_the_cart(
    client, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    alice_id = (await factory.user(display_name="Alice")).id
    await _with_token(client)

    response = await client.post(
        "/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(alice_id)}
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cart/")
    assert await _session_value(client, "user_id") == alice_id
    html = await (await client.get("/cart/")).get_data(as_text=True)
    assert "Signed in as Alice." in html


@pytest.mark.parametrize("user_id", ["999999", "abc", "", "0", "-3", "1.5", "99999999999", "٣"])
async def test_signing_in_as_an_unknown_user_says_so_and_signs_nobody_in(
    client, factory: Factory, user_id: str
) -> None:  # type: ignore[no-untyped-def]
    await factory.user()
    await _with_token(client)

    response = await client.post(
        "/demo/sign-in", form={"csrf_token": TOKEN, "user_id": user_id}, follow_redirects=True
    )

    assert response.status_code == 400
    assert "There is no such demo user: choose one from the list." in (
        await response.get_data(as_text=True)
    )
    assert await _session_value(client, "user_id") is None


async def test_signing_in_without_the_csrf_token_is_refused(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    user_id = (await factory.user()).id
    await _with_token(client)

    response = await client.post("/demo/sign-in", form={"user_id": str(user_id)})

    assert response.status_code == 400
    assert await _session_value(client, "user_id") is None


async def test_signing_out_forgets_the_user(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    user_id = (await factory.user()).id
    await _with_token(client, user_id=user_id)
    assert "Sign out" in await (await client.get("/demo/sign-in")).get_data(as_text=True)

    response = await client.post(
        "/demo/sign-out", form={"csrf_token": TOKEN}, follow_redirects=True
    )

    assert "Signed out." in await response.get_data(as_text=True)
    assert await _session_value(client, "user_id") is None


async def test_signing_in_adopts_the_anonymous_cart_and_bookings(
    client, factory: Factory, db: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    page = await factory.page(slug="the-bakery", title="The Bakery")
    loaf_id = (await factory.product(page_id=page.id, title="Sourdough loaf")).id
    calendar = await factory.calendar(page_id=page.id)
    slot_id = (await factory.slot(calendar_id=calendar.id, title="Pastry morning")).id
    user_id = (await factory.user(display_name="Alice")).id
    page_id = page.id
    # Alice already has a loaf in her cart from an earlier visit.
    await factory.cart_item(user_id=user_id, page_id=page_id, product_id=loaf_id, quantity=1)

    # Shopping anonymously through the demo shop's forms...
    await _with_token(client)
    added = await client.post(
        "/cart/add",
        form={"csrf_token": TOKEN, "product_id": str(loaf_id), "quantity": "2"},
    )
    assert added.status_code == 302
    booked = await client.post(
        "/shop/the-bakery/book", form={"csrf_token": TOKEN, "slot_id": str(slot_id)}
    )
    assert booked.status_code == 302

    # ...then signing in: the cart page says what merged and shows the adopted items.
    response = await client.post(
        "/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(user_id)}, follow_redirects=True
    )
    html = await response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Signed in as Alice." in html
    assert "2 items from before you signed in were added to your cart: Sourdough loaf ×3 now." in (
        html
    )
    assert "1 booking moved to your cart too." in html
    assert "Sourdough loaf" in html and "Pastry morning" in html
    db.expire_all()
    [line] = await db.scalars(
        select(CartItem).where(CartItem.deleted_at.is_(None), CartItem.page_id == page_id)
    )
    assert (line.user_id, line.product_id, line.quantity) == (user_id, loaf_id, 3)
    [entry] = await db.scalars(select(CalendarEntry))
    assert (entry.user_id, entry.state) == (user_id, "pending")
