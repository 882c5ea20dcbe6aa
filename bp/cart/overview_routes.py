"""The overview of every page's cart, and the site-level cart: /cart/."""

from __future__ import annotations

from typing import Any

from quart import g, render_template, request, session

from bp.cart import bp
from bp.cart.responses import CartFormErrors
from bp.cart.services.identity import current_owner
from bp.cart.services.load import load_cart
from bp.cart.services.totals import overview as cart_overview
from shared.db import get_session


@bp.get("/")
async def overview() -> Any:
    return await render_overview(next_url=request.path)


async def render_overview(*, next_url: str, cart_form: CartFormErrors | None = None) -> Any:
    """Load the whole cart and render the overview: the page itself, or (with `cart_form`)
    the same page again, 400, when the site-level section's cart form's quantities were
    refused (cart.update_cart)."""
    loaded = await load_cart(get_session(), owner=current_owner(session, create=False))
    shown = cart_overview(loaded)
    g.cart_item_count = shown.item_count  # the page header's (bp/cart/site_header.py)
    # No `cart_form` at all when there is nothing wrong: the templates test `is defined`.
    errors = {} if cart_form is None else {"cart_form": cart_form}
    html = await render_template(
        "cart/overview.html",
        overview=shown,
        next_url=next_url,
        **errors,
    )
    return html if cart_form is None else (html, 400)
