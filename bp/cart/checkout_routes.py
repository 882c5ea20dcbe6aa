"""Checkout: POST /cart/<page_slug>/checkout and /cart/checkout (the site-level cart).

The order is made and committed first; then the payment is started. If the payment cannot
start, the order exists all the same: the shopper is told so and sent to the order's return
page, which shows it and offers to pay again. That holds for any failure once the order is
committed (SumUp, the database, a timeout, a bug): a second press of "Check out" after an
error page would otherwise make a second order.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from quart import current_app, flash, redirect, request, session
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart import bp
from bp.cart.responses import back_url
from bp.cart.services.checkout import HoldingLimits, checkout_cart
from bp.cart.services.checkout_errors import CheckoutError
from bp.cart.services.checkout_form import new_checkout_key, parse_checkout_form
from bp.cart.services.errors import CartError
from bp.cart.services.fingerprint import cart_fingerprint
from bp.cart.services.identity import current_owner
from bp.cart.services.parsing import parse_page_slug
from bp.cart.services.payment import PaymentUrls, start_payment
from bp.cart.services.payment_errors import PaymentError
from models.order import OrderStatus
from shared.base_app import settings_of
from shared.db import get_session
from shared.errors import database_unreachable, describe
from shared.http_client import http_client_of

log = logging.getLogger(__name__)

PAYMENT_NOT_STARTED = (
    "Your order {number} is saved, but the payment could not be started: {reason}. "
    "Please try paying again in a moment."
)

# The checkout form's hidden fields (templates/cart/_checkout.html).
bp.add_app_template_global(new_checkout_key, "new_checkout_key")
bp.add_app_template_global(cart_fingerprint, "cart_fingerprint")


@bp.post("/<page_slug>/checkout")
async def checkout_page(page_slug: str) -> Any:
    return await _check_out(page_slug)


@bp.post("/checkout")
async def checkout_site() -> Any:
    return await _check_out(None)


async def _check_out(page_slug: str | None) -> Any:
    form = await request.form
    settings = settings_of(current_app)
    urls = PaymentUrls.from_settings(settings)
    try:
        placed = await checkout_cart(
            get_session(),
            owner=current_owner(session, create=False),
            page_slug=None if page_slug is None else parse_page_slug(page_slug),
            form=parse_checkout_form(
                key=form.get("checkout_key"), fingerprint=form.get("fingerprint")
            ),
            locale=settings.locale,
            time_zone=settings.site.time_zone,
            limits=HoldingLimits.from_settings(settings),
        )
    except (CartError, CheckoutError) as refused:
        await flash(refused.message, "error")
        return redirect(back_url(form), 303)
    # The order is committed. Read what the shopper is led back to now: a rollback below
    # expires the loaded order, and reading it again would need the database.
    number, return_page = placed.order.number, urls.return_page(placed.order.public_ref)
    if placed.order.status == OrderStatus.PAID:
        # A free order is paid at checkout (or a replayed form finds it paid): no SumUp.
        return redirect(return_page, 303)
    try:
        # A replayed form (a double-click) gets the order's payable checkout again.
        attempt = await start_payment(
            get_session(),
            order=placed.order,
            http=http_client_of(current_app),
            settings=settings,
            urls=urls,
        )
    except PaymentError as not_started:
        await flash(not_started.message, "error")
        return redirect(return_page, 303)
    except Exception as failed:  # anything at all: the order exists, so lead the shopper to it
        reason = _reason(failed, number)
        await _discard_unfinished(get_session(), number=number)
        await flash(PAYMENT_NOT_STARTED.format(number=number, reason=reason), "error")
        return redirect(return_page, 303)
    pay_url = attempt.hosted_checkout_url
    assert pay_url  # start_payment raises rather than answer an attempt without its page
    return redirect(pay_url, 303)


def _reason(failed: Exception, number: str) -> str:
    """Logs the failure; the reason the shopper is given."""
    if database_unreachable(failed):
        # One line: during an outage every checkout in flight comes here.
        log.warning("order %s is saved; its payment did not start: %s", number, describe(failed))
        return "the shop could not reach its database"
    log.exception("order %s is saved; its payment did not start", number)
    if isinstance(failed, (TimeoutError, httpx.HTTPError)):
        return "the payment service did not answer"
    return "something went wrong on our side"


async def _discard_unfinished(db: AsyncSession, *, number: str) -> None:
    """Roll back what the failed payment start had written but not committed, so that the
    request's end (which commits a redirect) does not commit half of it."""
    try:
        await db.rollback()
    except Exception as failed:  # the connection is gone: let it go without a word to it
        log.warning("order %s: rollback failed: %s", number, describe(failed))
        await db.invalidate()
