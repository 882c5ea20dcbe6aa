"""One page's cart: /cart/<page_slug>/."""

from __future__ import annotations

from typing import Any

from quart import g, render_template, request, session

from bp.cart import bp
from bp.cart.responses import CartFormErrors
from bp.cart.services.errors import CartError
from bp.cart.services.identity import current_owner
from bp.cart.services.load import load_page_cart
from bp.cart.services.parsing import parse_page_slug
from bp.cart.services.totals import item_count, page_section
from shared.db import get_session
from shared.errors import render_error


@bp.get("/<page_slug>/")
async def page(page_slug: str) -> Any:
    return await render_page_cart(page_slug, next_url=request.path)


async def render_page_cart(
    page_slug: str, *, next_url: str, cart_form: CartFormErrors | None = None
) -> Any:
    """Load one page's cart and render it: the page itself, or (with `cart_form`) the same
    page again, 400, when its cart form's quantities were refused (cart.update_cart)."""
    try:
        found, loaded = await load_page_cart(
            get_session(),
            owner=current_owner(session, create=False),
            page_slug=parse_page_slug(page_slug),
        )
    except CartError as error:
        return await render_error(error.status, error.message)
    g.cart_item_count = item_count(loaded)  # the page header's (bp/cart/site_header.py)
    # No `cart_form` at all when there is nothing wrong: the templates test `is defined`.
    errors = {} if cart_form is None else {"cart_form": cart_form}
    html = await render_template(
        "cart/page.html",
        page=found,
        section=page_section(loaded, found),
        next_url=next_url,
        **errors,
    )
    return html if cart_form is None else (html, 400)
