"""Nobody sees or checks anybody else's order: another shopper's reference is a 404, as an
unknown or malformed one is (not 403: a stranger learns nothing, not even that it exists)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import Owner
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, start_session
from tests.http.payment_steps import page_text, start
from tests.integration.checkout_data import ANON, OTHER_ANON
from tests.integration.payment_data import placed_bakery_order, stored_order

NOT_FOUND = "We could not find that order."


async def as_visitor(client, visitor: str, *, user_id: int | None) -> None:  # type: ignore[no-untyped-def]
    """Make the test client the visitor: another browser, a signed-in user, or nobody yet."""
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        if visitor == "other_anonymous":
            session["cart_anon_id"] = OTHER_ANON.session_id
        elif visitor == "signed_in":
            session["user_id"] = user_id


async def assert_hidden(client, public_ref: str) -> None:  # type: ignore[no-untyped-def]
    status, page = await page_text(client, f"/orders/{public_ref}")
    assert status == 404 and NOT_FOUND in page
    checked = await client.post(f"/orders/{public_ref}/check", form={"csrf_token": TOKEN})
    assert checked.status_code == 404 and NOT_FOUND in await checked.get_data(as_text=True)
    status, listed = await page_text(client, "/orders/")
    assert status == 200 and public_ref not in listed


@pytest.mark.parametrize("visitor", ["other_anonymous", "signed_in", "nobody"])
async def test_an_anonymous_shoppers_order_is_hidden_from_everyone_else(
    app, client, db: AsyncSession, factory: Factory, visitor: str
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory, ANON)
    attempt = await start(app, db, placed.order_id)
    sandbox_store(app.app).pay(attempt.sumup_checkout_id, succeed=True)  # webhook not sent
    stranger = (await factory.user()).id
    await as_visitor(client, visitor, user_id=stranger)

    await assert_hidden(client, placed.public_ref)

    # Nothing the stranger did checked the payment: the order is as it was.
    assert await stored_order(db, placed.order_id) == ("pending", False, None)
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    async with client.session_transaction() as session:
        session.pop("user_id", None)
    status, page = await page_text(client, f"/orders/{placed.public_ref}")
    assert status == 200 and f"Order {placed.number}" in page


@pytest.mark.parametrize("visitor", ["other_anonymous", "signed_in", "nobody"])
async def test_a_signed_in_users_order_is_hidden_from_everyone_else(
    client, db: AsyncSession, factory: Factory, visitor: str
) -> None:  # type: ignore[no-untyped-def]
    owner, stranger = (await factory.user()).id, (await factory.user()).id
    placed = await placed_bakery_order(db, factory, Owner(user_id=owner))
    await as_visitor(client, visitor, user_id=stranger)

    await assert_hidden(client, placed.public_ref)

    async with client.session_transaction() as session:
        session["user_id"] = owner
    status, page = await page_text(client, f"/orders/{placed.public_ref}")
    assert status == 200 and f"Order {placed.number}" in page


@pytest.mark.parametrize(
    "ref",
    ["%00", "abc%00def", "x" * 33, "..%2F..%2Fetc", "has%20space", "%C3%A9t%C3%A9", "'%3B--"],
)
async def test_a_malformed_reference_is_a_404_never_a_500(
    client, db: AsyncSession, factory: Factory, ref: str
) -> None:  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    await placed_bakery_order(db, factory, ANON)

    status, page = await page_text(client, f"/orders/{ref}")
    checked = await client.post(f"/orders/{ref}/check", form={"csrf_token": TOKEN})

    assert status == 404 and checked.status_code == 404
    if "%2F" not in ref:  # a slash makes it another path, which no route matches
        assert NOT_FOUND in page
