"""Removing a booking from the cart (POST /cart/bookings/<entry_id>/remove), the sold-out mark
on the cart page, and the way out of a sold-out booking: remove it, check out the rest."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order, OrderItem
from shared.interfaces import Owner
from tests.contract.calendar_data import StoredEntry, entry_for, stored_entries
from tests.factories import Factory
from tests.http.cart_form import CART_FORM_ACTION, pressing
from tests.http.checkout_forms import TOKEN, rendered_checkout_form, start_session
from tests.integration.checkout_data import ANON, OTHER_ANON, BakeryCart, bakery_cart

ANON_ID = ANON.session_id
CLASS_TIME = "Sat 4 May 2030, 11:00–14:00 BST"  # checkout_data.CLASS_STARTS (10:00 UTC), 3 hours
REMOVED = f"Removed your booking for Baking class ({CLASS_TIME})."
NOT_IN_CART = (
    "That booking is not in your cart (any more): it was removed, or it is part of an order "
    "already. Nothing was changed."
)
SOLD_OUT_MARK = "Sold out: no place left"


@pytest.fixture
async def bakery(factory: Factory) -> BakeryCart:
    return await bakery_cart(factory)


def removal_forms(page: str) -> dict[str, dict[str, str]]:
    """action -> what pressing it sends, for every booking's Remove button on the page: a
    button of the cart's one form (only a page's own cart has them; the overview shows its
    page sections read-only)."""
    return {
        f"{CART_FORM_ACTION}#{entry_id}": pressing(page, "remove_booking", entry_id)
        for entry_id in re.findall(r'name="remove_booking" value="(\d+)"', page)
    }


def posted_to(action: str) -> str:
    """The URL a `removal_forms` action posts to."""
    return action.partition("#")[0]


async def page_html(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    assert response.status_code == 200, path
    return await response.get_data(as_text=True)


async def entry_states(db: AsyncSession, *entry_ids: int) -> dict[int, StoredEntry]:
    await db.rollback()  # what is committed now, not this session's snapshot
    return await stored_entries(db, *entry_ids)


async def test_a_booking_has_a_remove_button_that_cancels_it(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client, ANON_ID)
    page = await page_html(client, "/cart/bakery/")
    [(action, sent)] = removal_forms(page).items()
    assert sent["remove_booking"] == str(bakery.entry_id)
    assert (sent["csrf_token"], sent["next"]) == (TOKEN, "/cart/bakery/")
    assert 'Remove<span class="visually-hidden"> your booking for Baking class</span>' in page

    response = await client.post(posted_to(action), form=sent, follow_redirects=True)

    shown = await response.get_data(as_text=True)
    assert REMOVED in shown
    assert "Baking class" not in shown.replace(REMOVED, "")
    assert "£9.00" in shown  # bread ×2 and jam: the £15.00 class is no longer counted
    assert (await entry_states(db, bakery.entry_id))[bakery.entry_id].state == "cancelled"


async def test_the_overview_shows_a_booking_read_only_and_links_to_its_page_cart(  # type: ignore[no-untyped-def]
    client, bakery
) -> None:
    """Products and bookings of a page alike: changes are made on the page's own cart."""
    await start_session(client, ANON_ID)
    page = await page_html(client, "/cart/")

    assert "Baking class" in page and "1 place" in page
    assert removal_forms(page) == {}
    assert "/cart/bookings/" not in page and "your booking for Baking class" not in page
    assert 'href="/cart/bakery/">Go to your cart for Bakery' in page


async def test_removing_by_json_answers_the_cancelled_booking_then_404(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client, ANON_ID)
    url = f"/cart/bookings/{bakery.entry_id}/remove"
    headers = {"Accept": "application/json"}

    first = await client.post(url, form={"csrf_token": TOKEN}, headers=headers)
    again = await client.post(url, form={"csrf_token": TOKEN}, headers=headers)

    assert first.status_code == 200
    assert await first.get_json() == {"entry_id": bakery.entry_id, "state": "cancelled"}
    assert again.status_code == 404
    assert await again.get_json() == {"error": "booking_unknown", "message": NOT_IN_CART}
    assert (await entry_states(db, bakery.entry_id))[bakery.entry_id].state == "cancelled"


async def test_a_signed_in_shopper_removes_their_own_booking(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory
) -> None:
    user_id = (await factory.user()).id
    cart = await bakery_cart(factory, Owner(user_id=user_id))
    await start_session(client, ANON_ID, user_id=user_id)

    response = await client.post(
        f"/cart/bookings/{cart.entry_id}/remove",
        form={"csrf_token": TOKEN, "next": "/cart/bakery/"},
        follow_redirects=True,
    )

    assert REMOVED in await response.get_data(as_text=True)
    assert (await entry_states(db, cart.entry_id))[cart.entry_id].state == "cancelled"


async def test_another_shoppers_booking_is_refused_and_unchanged(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, bakery
) -> None:
    someone = (await factory.user()).id
    theirs = [
        await entry_for(factory, OTHER_ANON, slot_id=bakery.slot_id),
        await entry_for(factory, Owner(user_id=someone), slot_id=bakery.slot_id),
    ]
    await start_session(client, ANON_ID)
    before = await entry_states(db, bakery.entry_id, *theirs)

    for entry_id in theirs:
        response = await client.post(
            f"/cart/bookings/{entry_id}/remove",
            form={"csrf_token": TOKEN, "next": "/cart/bakery/"},
            follow_redirects=True,
        )
        as_json = await client.post(
            f"/cart/bookings/{entry_id}/remove",
            form={"csrf_token": TOKEN},
            headers={"Accept": "application/json"},
        )
        shown = await response.get_data(as_text=True)
        assert NOT_IN_CART in shown and "Baking class" in shown  # our own booking is still there
        assert as_json.status_code == 404

    assert await entry_states(db, bakery.entry_id, *theirs) == before


@pytest.mark.parametrize("state", ["ordered", "confirmed"])
async def test_a_booking_in_an_order_cannot_be_removed_from_the_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, bakery, state: str
) -> None:
    in_order = await entry_for(factory, ANON, slot_id=bakery.slot_id, state=state, order_id=41)
    await start_session(client, ANON_ID)

    response = await client.post(
        f"/cart/bookings/{in_order}/remove",
        form={"csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 404
    assert (await response.get_json())["error"] == "booking_unknown"
    stored = (await entry_states(db, in_order))[in_order]
    assert (stored.state, stored.order_id) == (state, 41)


@pytest.mark.parametrize("token", [None, "", "forged-" + "x" * 20])
async def test_without_the_csrf_token_nothing_is_removed(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, token: str | None
) -> None:
    await start_session(client, ANON_ID)
    form = {"next": "/cart/bakery/"} | ({} if token is None else {"csrf_token": token})

    response = await client.post(f"/cart/bookings/{bakery.entry_id}/remove", form=form)

    assert response.status_code == 400
    assert (await entry_states(db, bakery.entry_id))[bakery.entry_id].state == "pending"


async def test_a_visitor_without_a_cart_cannot_remove_any_booking(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN  # no cart_anon_id, not signed in

    response = await client.post(
        f"/cart/bookings/{bakery.entry_id}/remove",
        form={"csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 404
    assert (await entry_states(db, bakery.entry_id))[bakery.entry_id].state == "pending"


@pytest.mark.parametrize("entry_id", ["0", "424242", "2147483648", "99999999999999999999"])
async def test_an_unknown_or_impossible_id_is_a_404_not_a_500(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, entry_id: str
) -> None:
    await start_session(client, ANON_ID)

    response = await client.post(
        f"/cart/bookings/{entry_id}/remove",
        form={"csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 404
    assert (await entry_states(db, bakery.entry_id))[bakery.entry_id].state == "pending"


async def test_removal_never_sends_the_shopper_to_another_site(  # type: ignore[no-untyped-def]
    client, bakery
) -> None:
    await start_session(client, ANON_ID)
    response = await client.post(
        f"/cart/bookings/{bakery.entry_id}/remove",
        form={"csrf_token": TOKEN, "next": "//evil.example/"},
    )
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]


@pytest.mark.parametrize("cart_path", ["/cart/bakery/", "/cart/"])
async def test_the_cart_marks_a_booking_whose_slot_has_no_place_left(  # type: ignore[no-untyped-def]
    client, factory: Factory, bakery, cart_path: str
) -> None:
    await start_session(client, ANON_ID)
    assert SOLD_OUT_MARK not in await page_html(client, cart_path)

    # The last places go to other shoppers' orders (ten places: factory's default).
    for order_id in range(1, 11):
        await entry_for(
            factory, OTHER_ANON, slot_id=bakery.slot_id, state="confirmed", order_id=order_id
        )
    page = await page_html(client, cart_path)

    assert SOLD_OUT_MARK in page
    assert 'class="line line-booking line-sold-out"' in page
    if cart_path == "/cart/":  # read-only: the booking is removed on the page's own cart
        assert "Remove them on this shop's own cart, then check out the rest." in page
    else:
        assert "Remove them to check out the rest." in page


async def test_a_sold_out_booking_is_named_at_checkout_removed_and_the_rest_checked_out(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, factory: Factory
) -> None:
    """Two shoppers book the last place; the other checks out first. Ours can then be
    neither bought nor kept in the way: the cart says so, checkout names the slot, and
    after removing the booking the products are checked out."""
    mine = await bakery_cart(factory, places=1)
    theirs = await entry_for(factory, OTHER_ANON, slot_id=mine.slot_id)
    other_client = app.test_client()
    await start_session(client, ANON_ID)
    await start_session(other_client, OTHER_ANON.session_id)
    action, stale_form = await rendered_checkout_form(client, "/cart/bakery/")
    assert SOLD_OUT_MARK not in await page_html(client, "/cart/bakery/")

    other_action, other_form = await rendered_checkout_form(other_client, "/cart/bakery/")
    assert (await other_client.post(other_action, form=other_form)).status_code == 303
    assert (await entry_states(db, theirs))[theirs].state == "ordered"

    # Checking out the page as it was shown is refused, naming the slot.
    refused = await client.post(action, form=stale_form, follow_redirects=True)
    page = await refused.get_data(as_text=True)
    assert "Sorry, Baking class is sold out: its last place has just been taken." in page
    assert SOLD_OUT_MARK in page
    # The page shown now is refused the same way: the booking is what stands in the way.
    action, fresh_form = await rendered_checkout_form(client, "/cart/bakery/")
    refused = await client.post(action, form=fresh_form, follow_redirects=True)
    assert "Sorry, Baking class is sold out" in await refused.get_data(as_text=True)
    assert await db.scalar(select(Order.id).where(Order.session_id == ANON_ID)) is None

    [(remove_action, remove_fields)] = removal_forms(page).items()
    removed = await client.post(posted_to(remove_action), form=remove_fields, follow_redirects=True)
    page = await removed.get_data(as_text=True)
    assert REMOVED in page and SOLD_OUT_MARK not in page
    assert "Check out and pay £9.00</button>" in page

    action, form = await rendered_checkout_form(client, "/cart/bakery/")
    paying = await client.post(action, form=form)

    assert paying.status_code == 303 and "/sumup-sandbox/" in paying.headers["Location"]
    await db.rollback()
    order_id, total = (
        await db.execute(select(Order.id, Order.total_minor).where(Order.session_id == ANON_ID))
    ).one()
    titles = await db.scalars(
        select(OrderItem.title).where(OrderItem.order_id == order_id).order_by(OrderItem.id)
    )
    assert (total, list(titles)) == (900, ["Bread", "Jam"])
    stored = await entry_states(db, mine.entry_id, theirs)
    assert (stored[mine.entry_id].state, stored[theirs].state) == ("cancelled", "ordered")
