"""GET /orders/: the shopper's orders, newest first, a page at a time."""

from __future__ import annotations

from typing import Any

from quart import render_template, request, session

from bp.cart.services.identity import current_owner
from bp.orders import bp
from bp.orders.services.list_orders import list_orders
from bp.orders.services.page_number import BadPageNumber, parse_page_number
from shared.db import get_session
from shared.errors import render_error


@bp.get("/", endpoint="list")
async def order_list() -> Any:
    try:
        page = parse_page_number(request.args.get("page"))
    except BadPageNumber as bad:
        return await render_error(400, bad.message)
    listed = await list_orders(get_session(), owner=current_owner(session, create=False), page=page)
    return await render_template("orders/list.html", listed=listed)
