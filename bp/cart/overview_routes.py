"""The overview of every page's cart, and the site-level cart: /cart/."""

from __future__ import annotations

from typing import Any

from quart import g, render_template, request, session

from bp.cart import bp
from bp.cart.services.identity import current_owner
from bp.cart.services.load import load_cart
from bp.cart.services.totals import overview as cart_overview
from shared.db import get_session


@bp.get("/")
async def overview() -> Any:
    loaded = await load_cart(get_session(), owner=current_owner(session, create=False))
    shown = cart_overview(loaded)
    g.cart_item_count = shown.item_count  # the page header's (bp/cart/site_header.py)
    return await render_template(
        "cart/overview.html",
        overview=shown,
        next_url=request.path,
    )
