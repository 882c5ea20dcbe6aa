"""Signing in adopts the anonymous cart: checked before every request, app-wide.

The blog service signs users in by setting `user_id` in the shared session; it knows
nothing of carts. So the first request that reaches this service with a `user_id` and a
`cart_anon_id` still in the session moves the anonymous lines, bookings and recent orders
(bp/orders/services/adopt_orders.py) to the user, retires `cart_anon_id` (identity.py: the
browser's next anonymous shopper gets a new id, even if the sign-out keeps `csrf_token`),
and tells the shopper what was merged. If that gives a cart two orders waiting for payment
(the user's own and the one made before signing in), the older is given up (its checkout
closed at SumUp first), so that a cart never has two payable orders.
"""

from __future__ import annotations

from quart import Quart, current_app, flash, request, session

from bp.cart.services.adopt import adopt_anonymous_cart, describe, describe_given_up
from bp.cart.services.identity import (
    ANON_ID_KEY,
    anonymous_id,
    retire_anonymous_id,
    signed_in_user_id,
)
from bp.cart.services.payment_settings import SumUpClients
from bp.order.services.give_up import give_up_older_pending_orders
from shared.base_app import settings_of
from shared.db import get_session
from shared.http_client import http_client_of
from shared.models import utcnow

# Probes and files never carry a shopper's intent; they must stay cheap and side-effect free.
SKIPPED_PATHS = frozenset({"/healthz", "/readyz"})


def init_identity(app: Quart) -> None:
    @app.before_request
    async def _adopt_anonymous_cart() -> None:
        if request.endpoint == "static" or request.path in SKIPPED_PATHS:
            return
        if ANON_ID_KEY not in session:
            return
        user_id = signed_in_user_id(session)
        if user_id is None:
            return
        anon = anonymous_id(session, create=False)
        if anon is not None:
            now = utcnow()
            adoption = await adopt_anonymous_cart(
                get_session(),
                session_id=anon,
                user_id=user_id,
                max_quantity=settings_of(current_app).max_quantity,
                now=now,
            )
            message = describe(adoption)
            if adoption.orders_moved:
                given_up = await give_up_older_pending_orders(
                    get_session(),
                    user_id=user_id,
                    client_for=SumUpClients(http_client_of(current_app), settings_of(current_app)),
                    now=now,
                )
                message = " ".join(filter(None, [message, describe_given_up(given_up)]))
            if message:
                await flash(message, "success")
        # Adopted (or a mangled value that names no cart): either way it is done with, and
        # the browser's next anonymous id must be another.
        retire_anonymous_id(session)
