"""Who is shopping: the signed-in user, else an anonymous id kept in the session.

The session is shared with the other services (same cookie, same secret). Its keys are a
contract between services, documented in the README:

- `user_id` (int): set by the blog service when a user signs in, removed when they sign out.
  This service only reads it (the embedded default's demo sign-in writes it, as the blog would).
- `cart_anon_id` (str): this service's anonymous shopper id, made on first need from the
  session's `csrf_token` (below). It stays after sign-in until the anonymous cart has been
  adopted into the user's.
- `csrf_token` (str): the form token all services check (shared/csrf.py).

Why the anonymous id is derived rather than drawn at random: it is made on a shopper's first
add or booking, and a browser can send several of those at once (a double click, two tabs,
a script) before any response has stored an id in its cookie. Random ids gave each racing
request a cart of its own, all but one unreachable. Every such request is a POST that has
passed the CSRF check, so it carries the session's `csrf_token`, written by whichever
service rendered the form (often the market's or the events' page: this service may never
have answered that browser before). The id is an HMAC of that token under the secret all
services share, so racing requests derive the same id on any process, host or service;
the secret keeps it unguessable from the token, which is printed in every form.

After sign-in the adoption (identity_hook.py) drops `cart_anon_id`. A sign-out that keeps
`csrf_token` (the demo's removes only `user_id`) derives the same id again: its adopted lines
were closed, its orders and pending bookings belong to the user, so that cart starts empty;
only bookings that an adopted order releases later (expiry, cancel) go back to this id
rather than to the user. A sign-out that also drops `csrf_token` starts a new shopper.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any, Literal, overload

from quart import current_app

from shared.csrf import SESSION_KEY as CSRF_TOKEN_KEY
from shared.interfaces import Owner

USER_ID_KEY = "user_id"
ANON_ID_KEY = "cart_anon_id"

ANON_ID_LENGTH = 32  # 192 bits of the HMAC; the README's contract allows 16 to 64 characters
_DERIVATION_LABEL = b"cart-anon-id:"


def signed_in_user_id(session: MutableMapping[str, Any]) -> int | None:
    value = session.get(USER_ID_KEY)
    # bool is an int in Python; a forged or mangled value is treated as signed out.
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def derive_anonymous_id(csrf_token: str, *, secret: str | bytes) -> str:
    """The anonymous id of the session whose CSRF token this is: the same for the same token
    and secret on every process, unguessable without the secret."""
    if not secret:
        raise ValueError("an anonymous id needs the shared SECRET_KEY")
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, _DERIVATION_LABEL + csrf_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:ANON_ID_LENGTH]


def anonymous_id(
    session: MutableMapping[str, Any], *, create: bool, secret: str | bytes | None = None
) -> str | None:
    """The session's anonymous id; when `create` and there is none yet, made and stored.

    A new id is derived from the session's CSRF token with `secret` (by default the app's
    SECRET_KEY, the one shared by all services).
    """
    value = session.get(ANON_ID_KEY)
    if isinstance(value, str) and 16 <= len(value) <= 64:
        return value
    if not create:
        return None
    token = session.get(CSRF_TOKEN_KEY)
    if isinstance(token, str) and token:
        value = derive_anonymous_id(
            token, secret=secret if secret is not None else current_app.secret_key or b""
        )
    else:
        # No CSRF token: not a form POST (every one passes shared/csrf.py, which needs the
        # token), so no browser is racing itself through the forms. No caller does this
        # today; a random id is as good as any there, and nothing to derive one from.
        value = secrets.token_urlsafe(24)
    session[ANON_ID_KEY] = value
    return value


@overload
def current_owner(
    session: MutableMapping[str, Any],
    *,
    create: Literal[True] = ...,
    secret: str | bytes | None = ...,
) -> Owner: ...
@overload
def current_owner(
    session: MutableMapping[str, Any], *, create: bool, secret: str | bytes | None = ...
) -> Owner | None: ...
def current_owner(
    session: MutableMapping[str, Any], *, create: bool = True, secret: str | bytes | None = None
) -> Owner | None:
    """The shopper: the signed-in user, else the anonymous id (made when `create`, see
    `anonymous_id`)."""
    user_id = signed_in_user_id(session)
    if user_id is not None:
        return Owner(user_id=user_id)
    anon = anonymous_id(session, create=create, secret=secret)
    return Owner(session_id=anon) if anon else None
