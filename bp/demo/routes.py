"""Routes of the stand-in pages: parse, call one service function, render or redirect."""

from __future__ import annotations

import re

from quart import abort, current_app, flash, redirect, render_template, request, session, url_for
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.identity import USER_ID_KEY, current_owner
from bp.cart.services.parsing import MAX_DATABASE_ID
from bp.demo import bp
from bp.demo.services import (
    ShopNotFound,
    ShopPage,
    book_open_slot,
    find_demo_user,
    list_demo_users,
    load_home,
    load_shop,
    load_site_shop,
)
from shared.base_app import settings_of
from shared.db import get_session
from shared.interfaces import BookingError, SlotSoldOut
from shared.interfaces.calendar import HoldingLimitReached

_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


def _form_id(raw: str | None) -> int | None:
    """A form's id field as a database id, or None for anything else (never out of range
    for PostgreSQL's integer, which would fail the query rather than find nothing)."""
    text = (raw or "").strip()
    if not _ASCII_DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_DATABASE_ID:
        return None
    return int(text)


async def _render_shop(shop_page: ShopPage) -> str:
    max_quantity = settings_of(current_app).max_quantity
    return await render_template("demo/shop.html", shop=shop_page, max_quantity=max_quantity)


@bp.get("/")
async def home():  # type: ignore[no-untyped-def]
    home_page = await load_home(get_session())
    return await render_template("demo/home.html", home=home_page)


@bp.get("/shop/")
async def site_shop():  # type: ignore[no-untyped-def]
    shop = await load_site_shop(get_session())
    return await _render_shop(shop)


@bp.get("/shop/<page_slug>/")
async def shop(page_slug: str):  # type: ignore[no-untyped-def]
    shop_page = await load_shop(get_session(), page_slug=page_slug)
    if shop_page is None:
        abort(404, "There is no shop at this address.")
    return await _render_shop(shop_page)


@bp.post("/shop/<page_slug>/book")
async def book(page_slug: str):  # type: ignore[no-untyped-def]
    slot_id = _form_id((await request.form).get("slot_id"))
    owner = current_owner(session)
    assert owner is not None  # create=True always gives an owner
    back = url_for("demo.shop", page_slug=page_slug)
    try:
        entry = await book_open_slot(
            get_session(),
            owner=owner,
            page_slug=page_slug,
            slot_id=slot_id,
            max_places=settings_of(current_app).max_places_per_slot,
        )
    except ShopNotFound:
        abort(404, "There is no shop at this address.")
    except SlotSoldOut as error:
        await flash(f"Sorry, {error.slot_title} is fully booked.", "error")
        return redirect(back)
    except HoldingLimitReached as error:
        await flash(
            f"You have {error.limit} places of {error.slot_title} in your cart or in orders "
            "waiting for payment, as many as one shopper may hold before paying: nothing "
            "more was booked.",
            "error",
        )
        return redirect(back)
    except BookingError:
        await flash("That slot cannot be booked: choose one of the slots listed.", "error")
        return redirect(back)
    await flash(f"Booked: {entry.title}. It is in your cart until you check out.", "success")
    return redirect(url_for("cart.page", page_slug=page_slug))


@bp.route("/demo/sign-in", methods=["GET", "POST"])
async def sign_in():  # type: ignore[no-untyped-def]
    db = get_session()
    if request.method == "GET":
        return await _sign_in_page(db)
    user_id = _form_id((await request.form).get("user_id"))
    user = await find_demo_user(db, user_id=user_id) if user_id else None
    if user is None:
        # Unknown, or not one of the seed's demo users (a real user of a shared database):
        # refused the same way, and nobody is signed in.
        await flash("There is no such demo user: choose one from the list.", "error")
        return await _sign_in_page(db), 400
    # What the blog service does when a user signs in; the cart's identity hook then adopts
    # the anonymous cart on the next request and says what it merged.
    session[USER_ID_KEY] = user.id
    await flash(f"Signed in as {user.display_name}.", "success")
    return redirect(url_for("cart.overview"))


async def _sign_in_page(db: AsyncSession) -> str:
    users = await list_demo_users(db)
    return await render_template(
        "demo/sign_in.html", users=users, signed_in_id=session.get(USER_ID_KEY)
    )


@bp.post("/demo/sign-out")
async def sign_out():  # type: ignore[no-untyped-def]
    session.pop(USER_ID_KEY, None)
    # A new form token, so the next anonymous cart id (derived from it, identity.py) is not
    # the one this browser had before signing in.
    session.pop("csrf_token", None)
    await flash("Signed out.", "success")
    return redirect(url_for("demo.home"))
