"""Signing in adopts the anonymous cart: checked before every request, app-wide.

The blog service signs users in by setting `user_id` in the shared session; it knows
nothing of carts. So the first request that reaches this service with a `user_id` and a
`cart_anon_id` still in the session moves the anonymous lines and bookings to the user,
drops `cart_anon_id`, and tells the shopper what was merged.
"""

from __future__ import annotations

from quart import Quart, current_app, flash, request, session

from bp.cart.services.adopt import adopt_anonymous_cart, describe
from bp.cart.services.identity import ANON_ID_KEY, anonymous_id, signed_in_user_id
from shared.base_app import settings_of
from shared.db import get_session

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
            adoption = await adopt_anonymous_cart(
                get_session(),
                session_id=anon,
                user_id=user_id,
                max_quantity=settings_of(current_app).max_quantity,
            )
            message = describe(adoption)
            if message:
                await flash(message, "success")
        # Adopted (or a mangled value that names no cart): either way it is done with.
        session.pop(ANON_ID_KEY, None)
