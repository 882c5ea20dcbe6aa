"""The demo sign-in offers and signs in only the demo users the seed made (`@demo.invalid`),
never the other users of the table: in development mode on a shared database it would
otherwise list every user's e-mail and sign anyone in as any of them (issue 8, finding 1)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.demo.seed import seed_demo_site_if_empty
from shared.models import User
from tests.factories import Factory

TOKEN = "demo-csrf-token-" + "q" * 20


async def _with_token(client) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as client_session:
        client_session["csrf_token"] = TOKEN


async def _signed_in_user(client):  # type: ignore[no-untyped-def]
    async with client.session_transaction() as client_session:
        return client_session.get("user_id")


async def test_sign_in_page_lists_the_seeded_demo_users_and_no_one_else(
    client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    real = await factory.user(email="carol@coop.example", display_name="Carol Real")
    await seed_demo_site_if_empty(db)

    html = await (await client.get("/demo/sign-in")).get_data(as_text=True)

    assert "Alice (alice@demo.invalid)" in html and "Bob (bob@demo.invalid)" in html
    assert "carol@coop.example" not in html and "Carol Real" not in html
    assert f'value="{real.id}"' not in html


async def test_signing_in_as_a_user_the_seed_did_not_make_is_refused_and_changes_nothing(
    client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    real = await factory.user(email="carol@coop.example", display_name="Carol Real")
    real_id = real.id
    users_before = await db.scalar(select(func.count()).select_from(User))
    await _with_token(client)

    response = await client.post(
        "/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(real_id)}
    )

    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert "There is no such demo user: choose one from the list." in html
    assert "Carol Real" not in html and "carol@coop.example" not in html
    assert await _signed_in_user(client) is None
    assert await db.scalar(select(func.count()).select_from(User)) == users_before
    # The next page is still an anonymous shopper's.
    overview = await (await client.get("/cart/")).get_data(as_text=True)
    assert "Signed in as" not in overview


async def test_a_look_alike_address_is_not_a_demo_user(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    # Only the exact domain counts: not a look-alike domain, not a longer name before it.
    lookalike = await factory.user(email="eve@demo.invalid.coop.example", display_name="Eve")
    pattern = await factory.user(email="mallory@notdemo.invalid", display_name="Mallory")
    await _with_token(client)

    html = await (await client.get("/demo/sign-in")).get_data(as_text=True)
    assert "Eve" not in html and "Mallory" not in html
    for user_id in (lookalike.id, pattern.id):
        response = await client.post(
            "/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(user_id)}
        )
        assert response.status_code == 400
        assert await _signed_in_user(client) is None


async def test_signing_in_as_a_seeded_demo_user_works(client, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    await seed_demo_site_if_empty(db)
    alice_id = await db.scalar(select(User.id).where(User.email == "alice@demo.invalid"))
    await _with_token(client)

    response = await client.post(
        "/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(alice_id)}
    )

    assert response.status_code == 302
    assert await _signed_in_user(client) == alice_id
