"""Who is shopping: the signed-in user, else an anonymous id kept in the session.

The session is shared with the other services (same cookie, same secret). Its keys are a
contract between services, documented in the README:

- `user_id` (int): set by the blog service when a user signs in, removed when they sign out.
  This service only reads it (the embedded default's demo sign-in writes it, as the blog would).
- `cart_anon_id` (str): this service's anonymous shopper id, made on first need from the
  session's `csrf_token` and `cart_anon_gen` (below). It stays after sign-in until the
  anonymous cart has been adopted into the user's.
- `cart_anon_gen` (int): this service's count of the anonymous ids this browser has retired
  (adopted at a sign-in); absent means none.
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

Why the generation: the blog's sign-out promises only to remove `user_id`, so `csrf_token`
may outlive a sign-in and sign-out, and the token alone would give the browser's next
anonymous shopper the id of the one before, with whatever of theirs was left under it (the
orders too old to be adopted, adopt_orders.py). So when a sign-in adopts the anonymous id,
`retire_anonymous_id` drops it and counts the generation up, and the next id is derived from
the token and the new count: a new id, yet still one id for first adds racing with one
cookie. Only a sign-in this service sees retires an id: a browser that signs in and out
without a request reaching this service stays, here, the same anonymous shopper.
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
ANON_GENERATION_KEY = "cart_anon_gen"

ANON_ID_LENGTH = 32  # 192 bits of the HMAC; the README's contract allows 16 to 64 characters
_DERIVATION_LABEL = b"cart-anon-id:"  # generation 0: the ids made before generations existed
_GENERATION_LABEL = b"cart-anon-id#"  # then "<generation>:<token>", unambiguous: digits, ":"
_MAX_GENERATION = 2**53  # far past any browser's sign-ins; a bigger value is not ours


def signed_in_user_id(session: MutableMapping[str, Any]) -> int | None:
    value = session.get(USER_ID_KEY)
    # bool is an int in Python; a forged or mangled value is treated as signed out.
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def anonymous_generation(session: MutableMapping[str, Any]) -> int:
    """How many anonymous ids this browser has retired; anything but a positive int is 0."""
    value = session.get(ANON_GENERATION_KEY)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_GENERATION:
        return value
    return 0


def derive_anonymous_id(csrf_token: str, *, secret: str | bytes, generation: int = 0) -> str:
    """The anonymous id of the session whose CSRF token and generation these are: the same
    for the same token, generation and secret on every process, unguessable without the
    secret, and another one for each generation."""
    if not secret:
        raise ValueError("an anonymous id needs the shared SECRET_KEY")
    if generation < 0:
        raise ValueError("an anonymous id's generation is a count, never negative")
    key = secret.encode() if isinstance(secret, str) else secret
    message = (
        _DERIVATION_LABEL + csrf_token.encode()
        if generation == 0
        else _GENERATION_LABEL + str(generation).encode() + b":" + csrf_token.encode()
    )
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:ANON_ID_LENGTH]


def anonymous_id(
    session: MutableMapping[str, Any], *, create: bool, secret: str | bytes | None = None
) -> str | None:
    """The session's anonymous id; when `create` and there is none yet, made and stored.

    A new id is derived from the session's CSRF token and generation with `secret` (by
    default the app's SECRET_KEY, the one shared by all services).
    """
    value = session.get(ANON_ID_KEY)
    if isinstance(value, str) and 16 <= len(value) <= 64:
        return value
    if not create:
        return None
    token = session.get(CSRF_TOKEN_KEY)
    if isinstance(token, str) and token:
        value = derive_anonymous_id(
            token,
            secret=secret if secret is not None else current_app.secret_key or b"",
            generation=anonymous_generation(session),
        )
    else:
        # No CSRF token: not a form POST (every one passes shared/csrf.py, which needs the
        # token), so no browser is racing itself through the forms. No caller does this
        # today; a random id is as good as any there, and nothing to derive one from.
        value = secrets.token_urlsafe(24)
    session[ANON_ID_KEY] = value
    return value


def retire_anonymous_id(session: MutableMapping[str, Any]) -> None:
    """The anonymous id has been adopted at a sign-in (or named no cart): drop it and count
    the generation up, so that the id this browser's next anonymous shopper gets is a new
    one even if `csrf_token` outlives the sign-out. Requests racing with one cookie count up
    to the same generation."""
    session.pop(ANON_ID_KEY, None)
    session[ANON_GENERATION_KEY] = anonymous_generation(session) + 1


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
