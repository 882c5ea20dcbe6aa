"""GET /orders/<public_ref> (one order), POST /orders/<public_ref>/check and /give-up.

Another shopper's reference is a 404, as an unknown one is: a stranger learns nothing,
not even that the order exists. "Pay again" posts to the checkout's pay-again route.
"""

from __future__ import annotations

from typing import Any

from quart import current_app, flash, redirect, render_template, session, url_for

from bp.cart.services.identity import current_owner
from bp.cart.services.payment_settings import SumUpClients
from bp.order import bp
from bp.order.services.check_payment import check_order_payment
from bp.order.services.give_up import GiveUp, give_up_order
from bp.order.services.order_view import load_order_view
from shared.base_app import settings_of
from shared.db import get_session
from shared.errors import render_error
from shared.http_client import http_client_of
from shared.models import utcnow

NOT_FOUND = "We could not find that order."


@bp.get("/<public_ref>")
async def detail(public_ref: str) -> Any:
    view = await load_order_view(
        get_session(), owner=current_owner(session, create=False), public_ref=public_ref
    )
    if view is None:
        return await render_error(404, NOT_FOUND)
    return await render_template("order/detail.html", view=view, order=view.order)


@bp.post("/<public_ref>/check")
async def check(public_ref: str) -> Any:
    checked = await check_order_payment(
        get_session(),
        owner=current_owner(session, create=False),
        public_ref=public_ref,
        client_for=SumUpClients(http_client_of(current_app), settings_of(current_app)),
    )
    if checked is None:
        return await render_error(404, NOT_FOUND)
    await flash(checked.message, checked.category)
    return redirect(url_for("order.detail", public_ref=public_ref), 303)


@bp.post("/<public_ref>/give-up")
async def give_up(public_ref: str) -> Any:
    """ "Give up this order": its items go back to the cart, which is where the shopper goes."""
    given_up = await give_up_order(
        get_session(),
        owner=current_owner(session, create=False),
        public_ref=public_ref,
        client_for=SumUpClients(http_client_of(current_app), settings_of(current_app)),
        now=utcnow(),
    )
    if given_up is None:
        return await render_error(404, NOT_FOUND)
    await flash(given_up.message, given_up.category)
    if given_up.outcome == GiveUp.PAID:
        return redirect(url_for("checkout.return_page", public_ref=public_ref), 303)
    if given_up.outcome == GiveUp.GIVEN_UP:
        cart = (
            url_for("cart.overview")
            if given_up.page_slug is None
            else url_for("cart.page", page_slug=given_up.page_slug)
        )
        return redirect(cart, 303)
    return redirect(url_for("order.detail", public_ref=public_ref), 303)
