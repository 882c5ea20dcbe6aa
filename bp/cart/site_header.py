"""What every page's header says of the shopper: the cart's item count and who is signed in.

A template context processor, so that every page has it, the stand-in shop pages and the
sandbox's included. The count is the summary's (totals.item_count over the same lines,
products and bookings): the cart pages have loaded those already and leave the count in
`g.cart_item_count`; any other page loads them here (three queries, however many lines).
An anonymous visitor who never added anything costs no query at all. Error pages
(shared/errors.py) ask the database nothing, so their header goes without the count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from quart import Quart, current_app, g, has_request_context, session, url_for
from sqlalchemy.exc import SQLAlchemyError

from bp.cart.services.identity import current_owner, signed_in_user_id
from bp.cart.services.load import load_item_count_lines
from bp.cart.services.totals import item_count
from shared.base_app import settings_of
from shared.db import get_session
from shared.registry import services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteHeader:
    cart_count: int | None  # None: not known on this page (an error page)
    signed_in: bool
    user_name: str | None  # None: nobody signed in, or the name could not be looked up
    sign_in_url: str
    sign_out_url: str
    # The demo sign-out is this service's own POST form (CSRF); production links to the blog.
    sign_out_form: bool


def init_site_header(app: Quart) -> None:
    @app.context_processor
    async def _site_header() -> dict[str, Any]:
        if not has_request_context():
            return {}
        return {"header": await site_header()}


async def site_header() -> SiteHeader:
    settings = settings_of(current_app)
    user_id = signed_in_user_id(session)
    cart_count, user_name = await _from_database(user_id)
    if settings.production:
        sign_in_url, sign_out_url = settings.site.sign_in_url, settings.site.sign_out_url
    else:
        sign_in_url, sign_out_url = url_for("demo.sign_in"), url_for("demo.sign_out")
    return SiteHeader(
        cart_count=cart_count,
        signed_in=user_id is not None,
        user_name=user_name,
        sign_in_url=sign_in_url,
        sign_out_url=sign_out_url,
        sign_out_form=not settings.production,
    )


async def _from_database(user_id: int | None) -> tuple[int | None, str | None]:
    if g.get("render_without_database"):
        return None, None
    owner = current_owner(session, create=False)
    try:
        count = g.get("cart_item_count")
        if count is None:
            count = item_count(await load_item_count_lines(get_session(), owner=owner))
        name = await services.blog.user_name(get_session(), user_id) if user_id else None
    except SQLAlchemyError as error:
        # The page itself was loaded; its header is not worth failing it for.
        log.warning("page header without the cart count: %s", type(error).__name__)
        return None, None
    return count, name
