"""Routes that act on the cart wherever the shopper is: add, change, remove (lines and
bookings), the cart form that does either for a whole cart, summary."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from quart import current_app, jsonify, request, session, url_for

from bp.cart import bp
from bp.cart.overview_routes import render_overview
from bp.cart.page_routes import render_page_cart
from bp.cart.responses import CartFormErrors, back_url, cart_view, done, refuse, safe_url
from bp.cart.services.add import Added, add_product
from bp.cart.services.change_quantity import (
    QuantitiesInvalid,
    QuantityChanged,
    change_quantities,
    change_quantity,
)
from bp.cart.services.errors import CartError
from bp.cart.services.identity import current_owner
from bp.cart.services.load import load_cart
from bp.cart.services.parsing import (
    parse_entry_id,
    parse_line_id,
    parse_product_id,
    parse_quantity,
)
from bp.cart.services.remove import remove_line as remove_cart_line
from bp.cart.services.remove_booking import remove_booking as remove_cart_booking
from bp.cart.services.slot_time import format_slot_time
from bp.cart.services.summary import summary as cart_summary
from bp.cart.services.totals import overview as cart_overview
from shared.base_app import settings_of
from shared.db import get_session
from shared.errors import wants_json
from shared.money import format_money


@bp.post("/add")
async def add() -> Any:
    """The add-to-cart form of any sibling service's page posts here."""
    form = await request.form
    max_quantity = settings_of(current_app).max_quantity
    try:
        product_id = parse_product_id(form.get("product_id"))
        # A plain "Add to cart" button sends no quantity: that means one.
        quantity = parse_quantity(form.get("quantity", "1"), max_quantity=max_quantity)
        added = await add_product(
            get_session(),
            owner=current_owner(session),
            product_id=product_id,
            quantity=quantity,
            max_quantity=max_quantity,
        )
    except CartError as error:
        return await refuse(error, back=back_url(form))
    cart_url = (
        url_for("cart.page", page_slug=added.page.slug) if added.page else url_for("cart.overview")
    )
    return await done(
        _added_message(added, cart_url),
        to=safe_url(form.get("next")) or cart_url,
        json_body={"line_id": added.line_id, "quantity": added.quantity_now, "cart_url": cart_url},
    )


def _added_message(added: Added, cart_url: str) -> Markup:
    """'Added 2 × Compost, 20 litres to your cart for Garden Shop. See your cart': what was
    added, to which shop's cart, and a link to it (the shopper stays on the shop's page).
    Markup.format escapes the titles; the session cookie keeps the Markup as such."""
    message = Markup("Added {quantity} × {title} to your cart").format(
        quantity=added.added, title=added.product_title
    )
    if added.page is not None:
        message += Markup(" for {shop}").format(shop=added.page.title)
    if added.quantity_now != added.added:
        message += Markup(": you now have {now}").format(now=added.quantity_now)
    return message + Markup('. <a href="{url}">See your cart</a>').format(url=cart_url)


@bp.post("/lines/<int:line_id>/quantity")
async def update_line(line_id: int) -> Any:
    form = await request.form
    max_quantity = settings_of(current_app).max_quantity
    back = back_url(form)
    try:
        changed = await change_quantity(
            get_session(),
            owner=current_owner(session, create=False),
            line_id=parse_line_id(line_id),
            quantity=parse_quantity(form.get("quantity"), max_quantity=max_quantity),
            max_quantity=max_quantity,
        )
    except CartError as error:
        return await refuse(error, back=back)
    return await done(
        _quantity_message(changed),
        to=back,
        json_body={"line_id": changed.line_id, "quantity": changed.quantity},
    )


# The cart form's quantity fields are named by line: quantity-<line id>.
QUANTITY_FIELD_PREFIX = "quantity-"


@bp.post("/lines")
async def update_cart() -> Any:
    """A cart page's one form, for the whole cart (as GOV.UK's basket): a line's or a
    booking's Remove button says which in its value, and answers as its own route does;
    else "Update quantities" sets every line's quantity as typed, or, when some are not
    whole numbers in range, shows the page again with each of them marked."""
    form = await request.form
    back = back_url(form)
    wanted: dict[int, str] = {}
    try:
        if "remove" in form:
            return await remove_line(parse_line_id(form["remove"]))
        if "remove_booking" in form:
            return await remove_booking(parse_entry_id(form["remove_booking"]))
        wanted = {
            parse_line_id(name.removeprefix(QUANTITY_FIELD_PREFIX)): typed
            for name, typed in form.items()
            if name.startswith(QUANTITY_FIELD_PREFIX)
        }
        changed = await change_quantities(
            get_session(),
            owner=current_owner(session, create=False),
            wanted=wanted,
            max_quantity=settings_of(current_app).max_quantity,
        )
    except QuantitiesInvalid as error:
        return await _refuse_quantities(error, typed=wanted, back=back)
    except CartError as error:
        return await refuse(error, back=back)
    message = " ".join(_quantity_message(change) for change in changed)
    return await done(
        message or "Nothing was changed: the quantities were already as shown.",
        to=back,
        json_body={"lines": [{"line_id": c.line_id, "quantity": c.quantity} for c in changed]},
    )


async def _refuse_quantities(error: QuantitiesInvalid, *, typed: dict[int, str], back: str) -> Any:
    """Quantities typed that are not whole numbers in range (nothing was changed): the cart
    page the form came from, rendered again with a 400 as GOV.UK's error pattern has it,
    every bad field marked and every field keeping what was typed, so the shopper is led to
    each one and loses nothing. A JSON caller, or a form whose `next` is no cart page of
    ours, gets the refusal as any other."""
    view = None if wants_json() else cart_view(back)
    if view is None:
        return await refuse(error, back=back)
    endpoint, args = view
    shown = CartFormErrors(messages=error.by_line, typed=typed)
    # The view's own address, as its GET would have put in the forms' `next`.
    next_url = url_for(endpoint, **args)
    if endpoint == "cart.page":
        return await render_page_cart(args["page_slug"], next_url=next_url, cart_form=shown)
    return await render_overview(next_url=next_url, cart_form=shown)


def _quantity_message(changed: QuantityChanged) -> str:
    """'Compost, 20 litres: quantity changed to 1.' (the cart form names each line it changed)."""
    return f"{changed.title}: quantity changed to {changed.quantity}."


@bp.post("/lines/<int:line_id>/remove")
async def remove_line(line_id: int) -> Any:
    form = await request.form
    back = back_url(form)
    try:
        title = await remove_cart_line(
            get_session(),
            owner=current_owner(session, create=False),
            line_id=parse_line_id(line_id),
        )
    except CartError as error:
        return await refuse(error, back=back)
    return await done(f"{title}: removed from your cart.", to=back, json_body={"line_id": line_id})


@bp.post("/bookings/<int:entry_id>/remove")
async def remove_booking(entry_id: int) -> Any:
    """A booking's Remove button: its calendar entry is cancelled (a sold-out slot's too)."""
    form = await request.form
    back = back_url(form)
    try:
        removed = await remove_cart_booking(
            get_session(),
            owner=current_owner(session, create=False),
            entry_id=parse_entry_id(entry_id),
        )
    except CartError as error:
        return await refuse(error, back=back)
    settings = settings_of(current_app)
    when = format_slot_time(
        removed.starts_at,
        removed.ends_at,
        locale=settings.locale,
        time_zone=settings.site.time_zone,
    )
    return await done(
        f"Removed your booking for {removed.title} ({when}).",
        to=back,
        json_body={"entry_id": removed.id, "state": removed.state},
    )


@bp.get("/summary.json")
async def summary() -> Any:
    """The navigation badge's data. Never makes an anonymous id: a GET changes nothing."""
    locale = settings_of(current_app).locale
    loaded = await load_cart(get_session(), owner=current_owner(session, create=False))
    return jsonify(
        cart_summary(
            cart_overview(loaded),
            format_money=lambda minor, currency: format_money(minor, currency, locale),
        )
    )
