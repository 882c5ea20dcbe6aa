"""The anonymous id: derived from the session's CSRF token, so racing first adds agree."""

from __future__ import annotations

import re

import pytest
from quart import Quart

from bp.cart.services.identity import anonymous_id, current_owner, derive_anonymous_id

SECRET = "s" * 32
TOKEN = "csrf-token-" + "a" * 30


def test_the_same_csrf_token_gives_the_same_id_in_every_session() -> None:
    first: dict[str, object] = {"csrf_token": TOKEN}
    second: dict[str, object] = {"csrf_token": TOKEN}  # the same cookie, another request

    made = anonymous_id(first, create=True, secret=SECRET)

    assert made == anonymous_id(second, create=True, secret=SECRET)
    assert first["cart_anon_id"] == second["cart_anon_id"] == made
    assert current_owner({"csrf_token": TOKEN}, secret=SECRET).session_id == made


def test_the_id_is_within_the_contracts_16_to_64_url_safe_characters() -> None:
    made = derive_anonymous_id(TOKEN, secret=SECRET)
    assert len(made) == 32 and re.fullmatch(r"[A-Za-z0-9_-]+", made)
    # Stored, it is read back as the session's id rather than made again.
    assert anonymous_id({"cart_anon_id": made}, create=False) == made


def test_another_token_or_another_secret_gives_another_id() -> None:
    made = derive_anonymous_id(TOKEN, secret=SECRET)
    assert derive_anonymous_id(TOKEN + "b", secret=SECRET) != made
    assert derive_anonymous_id(TOKEN, secret="t" * 32) != made
    # Not the token itself, nor anything computed without the secret: forms print the token.
    assert TOKEN not in made and made not in TOKEN


def test_str_and_bytes_secrets_agree() -> None:
    assert derive_anonymous_id(TOKEN, secret=SECRET) == derive_anonymous_id(
        TOKEN, secret=SECRET.encode()
    )


def test_an_empty_secret_is_refused_rather_than_used() -> None:
    with pytest.raises(ValueError):
        derive_anonymous_id(TOKEN, secret="")


async def test_by_default_the_apps_secret_key_is_used() -> None:
    app = Quart(__name__)
    app.secret_key = SECRET
    async with app.app_context():
        made = anonymous_id({"csrf_token": TOKEN}, create=True)
    assert made == derive_anonymous_id(TOKEN, secret=SECRET)


def test_an_id_already_in_the_session_is_kept() -> None:
    existing = "random-old-id-" + "x" * 18  # made before ids were derived
    session: dict[str, object] = {"csrf_token": TOKEN, "cart_anon_id": existing}
    assert anonymous_id(session, create=True, secret=SECRET) == existing


def test_a_mangled_id_is_replaced_by_the_derived_one() -> None:
    session: dict[str, object] = {"csrf_token": TOKEN, "cart_anon_id": "short"}
    made = anonymous_id(session, create=True, secret=SECRET)
    assert made == session["cart_anon_id"] == derive_anonymous_id(TOKEN, secret=SECRET)


def test_without_create_nothing_is_made() -> None:
    session: dict[str, object] = {"csrf_token": TOKEN}
    assert anonymous_id(session, create=False, secret=SECRET) is None
    assert current_owner(session, create=False, secret=SECRET) is None
    assert "cart_anon_id" not in session


@pytest.mark.parametrize("token", [None, "", 42])
def test_without_a_csrf_token_a_random_id_is_made(token: object) -> None:
    first: dict[str, object] = {} if token is None else {"csrf_token": token}
    second = dict(first)

    made = anonymous_id(first, create=True, secret=SECRET)

    assert made is not None and 16 <= len(made) <= 64 and first["cart_anon_id"] == made
    assert anonymous_id(second, create=True, secret=SECRET) != made


def test_a_signed_in_user_is_the_owner_and_no_anonymous_id_is_made() -> None:
    session: dict[str, object] = {"csrf_token": TOKEN, "user_id": 7}
    assert current_owner(session, secret=SECRET).user_id == 7
    assert "cart_anon_id" not in session
