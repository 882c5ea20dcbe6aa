"""Checkout: POST /cart/<page_slug>/checkout and /cart/checkout (the site-level cart).

The order is made and committed first; then the payment is started. If the payment cannot
start, the order exists all the same: the shopper is told so and sent to the order's return
page, which shows it and offers to pay again.
"""

from __future__ import annotations

from typing import Any

from quart import current_app, flash, redirect, request, session

from bp.cart import bp
from bp.cart.responses import back_url
from bp.cart.services.checkout import checkout_cart
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
from shared.http_client import http_client_of

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
        )
    except (CartError, CheckoutError) as refused:
        await flash(refused.message, "error")
        return redirect(back_url(form), 303)
    if placed.order.status == OrderStatus.PAID:
        # A free order is paid at checkout (or a replayed form finds it paid): no SumUp.
        return redirect(urls.return_page(placed.order.public_ref), 303)
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
        return redirect(urls.return_page(placed.order.public_ref), 303)
    pay_url = attempt.hosted_checkout_url
    assert pay_url  # start_payment raises rather than answer an attempt without its page
    return redirect(pay_url, 303)
