"""Retiring an anonymous id at sign-in: the browser's next anonymous id is a new one, even
when the sign-out keeps the form token, and still one id for first adds racing together."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from bp.cart.services.identity import (
    anonymous_generation,
    anonymous_id,
    derive_anonymous_id,
    retire_anonymous_id,
)

SECRET = "s" * 32
TOKEN = "csrf-token-" + "a" * 30


def test_retiring_drops_the_id_and_the_next_one_derived_is_new() -> None:
    session: dict[str, object] = {"csrf_token": TOKEN}
    first = anonymous_id(session, create=True, secret=SECRET)
    session["user_id"] = 7  # signed in; the identity hook adopts, then retires

    retire_anonymous_id(session)
    del session["user_id"]  # the blog's sign-out: user_id only, the token stays

    assert session == {"csrf_token": TOKEN, "cart_anon_gen": 1}
    second = anonymous_id(session, create=True, secret=SECRET)
    assert second is not None and second != first
    retire_anonymous_id(session)
    third = anonymous_id(session, create=True, secret=SECRET)
    assert session["cart_anon_gen"] == 2 and third not in (first, second)


def test_requests_racing_with_one_cookie_after_a_sign_out_agree_on_the_id() -> None:
    cookie: dict[str, object] = {"csrf_token": TOKEN, "cart_anon_gen": 3}
    made = {anonymous_id(dict(cookie), create=True, secret=SECRET) for _ in range(5)}
    assert made == {derive_anonymous_id(TOKEN, secret=SECRET, generation=3)}
    # Two requests retiring the same id with one cookie count up to the same generation.
    one, other = dict(cookie), dict(cookie)
    retire_anonymous_id(one)
    retire_anonymous_id(other)
    assert one == other == {"csrf_token": TOKEN, "cart_anon_gen": 4}


def test_generation_zero_is_the_id_made_before_generations_existed() -> None:
    # The HMAC of the label and the token alone: carts of sessions that never signed in
    # keep their id across this change.
    digest = hmac.new(SECRET.encode(), b"cart-anon-id:" + TOKEN.encode(), hashlib.sha256)
    before = base64.urlsafe_b64encode(digest.digest()).decode()[:32]
    assert derive_anonymous_id(TOKEN, secret=SECRET) == before
    assert derive_anonymous_id(TOKEN, secret=SECRET, generation=0) == before
    assert anonymous_id({"csrf_token": TOKEN}, create=True, secret=SECRET) == before


def test_each_generation_gives_another_id_and_no_token_can_pose_as_one() -> None:
    ids = {derive_anonymous_id(TOKEN, secret=SECRET, generation=n) for n in range(50)}
    assert len(ids) == 50
    # A token that spells a generation ("1:...") is not that generation of another token.
    assert derive_anonymous_id("1:" + TOKEN, secret=SECRET) != derive_anonymous_id(
        TOKEN, secret=SECRET, generation=1
    )
    assert derive_anonymous_id(TOKEN, secret=SECRET, generation=12) != derive_anonymous_id(
        "2:" + TOKEN, secret=SECRET, generation=1
    )
    with pytest.raises(ValueError):
        derive_anonymous_id(TOKEN, secret=SECRET, generation=-1)


@pytest.mark.parametrize("value", [None, 0, -2, True, "3", 2.0, 2**60])
def test_anything_but_a_positive_int_is_generation_zero(value: object) -> None:
    session: dict[str, object] = {} if value is None else {"cart_anon_gen": value}
    assert anonymous_generation(session) == 0
    retire_anonymous_id(session)
    assert session["cart_anon_gen"] == 1
