"""SumUp's webhook, the return page, and "Pay again"."""

from __future__ import annotations

from typing import Any

from quart import current_app, flash, redirect, render_template, request, session
from werkzeug.exceptions import RequestEntityTooLarge

from bp.cart.services.identity import current_owner
from bp.cart.services.payment import PaymentUrls
from bp.cart.services.payment import pay_again as start_paying_again
from bp.cart.services.payment_errors import PaymentError
from bp.cart.services.payment_settings import SumUpClients
from bp.checkout import bp
from bp.checkout.services.return_page import load_return_view
from bp.checkout.services.webhook import MAX_WEBHOOK_BYTES, WebhookResult, receive_webhook
from shared.base_app import settings_of
from shared.csrf import csrf_exempt
from shared.db import get_session
from shared.errors import render_error
from shared.http_client import http_client_of

# SumUp wants any 2xx with an empty body; anything else it retries later.
_WEBHOOK_STATUS = {
    WebhookResult.CHECKED: 204,
    WebhookResult.IGNORED: 204,
    WebhookResult.REJECTED: 400,
    WebhookResult.UNAVAILABLE: 503,
}


def _sumup_clients() -> SumUpClients:
    return SumUpClients(http_client_of(current_app), settings_of(current_app))


@bp.post("/webhook")
@csrf_exempt  # SumUp posts it; the status is fetched from SumUp, never taken from the body
async def webhook() -> Any:
    result = await receive_webhook(
        get_session(), body=await _body_up_to(MAX_WEBHOOK_BYTES), client_for=_sumup_clients()
    )
    return "", _WEBHOOK_STATUS[result]


@bp.get("/return/<public_ref>")
async def return_page(public_ref: str) -> Any:
    view = await load_return_view(
        get_session(),
        owner=current_owner(session, create=False),
        public_ref=public_ref,
        client_for=_sumup_clients(),
    )
    if view is None:
        return await render_error(404, "We could not find that order.")
    return await render_template("checkout/return.html", view=view, order=view.order)


@bp.post("/<public_ref>/pay-again")
async def pay_again(public_ref: str) -> Any:
    settings = settings_of(current_app)
    urls = PaymentUrls.from_settings(settings)
    try:
        attempt = await start_paying_again(
            get_session(),
            owner=current_owner(session, create=False),
            public_ref=public_ref,
            http=http_client_of(current_app),
            settings=settings,
            urls=urls,
        )
    except PaymentError as not_started:
        if not_started.public_ref is None:
            return await render_error(not_started.status, not_started.message)
        await flash(not_started.message, "error")
        return redirect(urls.return_page(not_started.public_ref), 303)
    assert attempt.hosted_checkout_url  # start_payment raises rather than answer without it
    return redirect(attempt.hosted_checkout_url, 303)


async def _body_up_to(limit: int) -> bytes | None:
    """The request body, or None when it is longer than `limit` (read no further)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    received = bytearray()
    try:
        async for chunk in request.body:
            received.extend(chunk)
            if len(received) > limit:
                return None
    except RequestEntityTooLarge:
        return None
    return bytes(received)
