"""Who is shopping: the signed-in user, else an anonymous id kept in the session.

The session is shared with the other services (same cookie, same secret). Its keys are a
contract between services, documented in the README:

- `user_id` (int): set by the blog service when a user signs in, removed when they sign out.
  This service only reads it (the embedded default's demo sign-in writes it, as the blog would).
- `cart_anon_id` (str): this service's anonymous shopper id, made on first need. It stays
  after sign-in until the anonymous cart has been adopted into the user's.
- `csrf_token` (str): the form token all services check (shared/csrf.py).
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any, Literal, overload

from shared.interfaces import Owner

USER_ID_KEY = "user_id"
ANON_ID_KEY = "cart_anon_id"


def signed_in_user_id(session: MutableMapping[str, Any]) -> int | None:
    value = session.get(USER_ID_KEY)
    # bool is an int in Python; a forged or mangled value is treated as signed out.
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def anonymous_id(session: MutableMapping[str, Any], *, create: bool) -> str | None:
    value = session.get(ANON_ID_KEY)
    if isinstance(value, str) and 16 <= len(value) <= 64:
        return value
    if not create:
        return None
    value = secrets.token_urlsafe(24)
    session[ANON_ID_KEY] = value
    return value


@overload
def current_owner(session: MutableMapping[str, Any], *, create: Literal[True] = ...) -> Owner: ...
@overload
def current_owner(session: MutableMapping[str, Any], *, create: bool) -> Owner | None: ...
def current_owner(session: MutableMapping[str, Any], *, create: bool = True) -> Owner | None:
    """The shopper: the signed-in user, else the anonymous id (made when `create`)."""
    user_id = signed_in_user_id(session)
    if user_id is not None:
        return Owner(user_id=user_id)
    anon = anonymous_id(session, create=create)
    return Owner(session_id=anon) if anon else None
