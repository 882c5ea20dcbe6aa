"""The checkout form's fields, order numbers and the cart's fingerprint: pure functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bp.cart.services.checkout_errors import CheckoutError
from bp.cart.services.checkout_form import new_checkout_key, parse_checkout_form
from bp.cart.services.fingerprint import cart_fingerprint, is_fingerprint
from bp.cart.services.load import BookingLine, ProductLine
from bp.cart.services.order_numbers import NUMBER_ALPHABET, new_order_number, new_public_ref
from bp.cart.services.totals import build_section

STARTS = datetime(2030, 5, 4, 10, tzinfo=UTC)


def product(line_id: int = 1, **changes) -> ProductLine:  # type: ignore[no-untyped-def]
    fields = {
        "line_id": line_id,
        "product_id": 10 + line_id,
        "page_id": 7,
        "title": "Bread",
        "unit_price_minor": 250,
        "currency": "GBP",
        "quantity": 2,
        "available": True,
    }
    return ProductLine(**(fields | changes))


def booking(entry_id: int = 1, **changes) -> BookingLine:  # type: ignore[no-untyped-def]
    fields = {
        "entry_id": entry_id,
        "slot_id": 3,
        "page_id": 7,
        "title": "Baking class",
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(hours=2),
        "price_minor": 1500,
        "currency": "GBP",
    }
    return BookingLine(**(fields | changes))


def fingerprint(products=(), bookings=(), page_id: int | None = 7) -> str:  # type: ignore[no-untyped-def]
    return cart_fingerprint(build_section(page_id, None, products, bookings))


def test_the_fingerprint_does_not_depend_on_the_order_lines_are_shown_in() -> None:
    lines, bookings = [product(1), product(2)], [booking(1), booking(2)]
    assert fingerprint(lines, bookings) == fingerprint(lines[::-1], bookings[::-1])
    assert is_fingerprint(fingerprint(lines, bookings))


@pytest.mark.parametrize(
    ("products", "bookings"),
    [
        ([product(quantity=3)], [booking()]),
        ([product(unit_price_minor=260)], [booking()]),
        ([product(currency="EUR")], [booking()]),
        ([product(available=False)], [booking()]),
        ([product(), product(2)], [booking()]),
        ([product()], []),
        ([product()], [booking(price_minor=1600)]),
        ([product()], [booking(2)]),
    ],
)
def test_any_change_of_what_is_shown_changes_the_fingerprint(products, bookings) -> None:  # type: ignore[no-untyped-def]
    assert fingerprint(products, bookings) != fingerprint([product()], [booking()])


def test_the_same_lines_on_another_cart_have_another_fingerprint() -> None:
    assert fingerprint([product()], page_id=7) != fingerprint([product()], page_id=None)


def test_order_numbers_are_two_groups_of_four_unambiguous_symbols() -> None:
    numbers = {new_order_number() for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        assert re.fullmatch(f"[{NUMBER_ALPHABET}]{{4}}-[{NUMBER_ALPHABET}]{{4}}", number)
    assert not set("01ILOUV") & set(NUMBER_ALPHABET)


def test_public_references_are_long_random_and_url_safe() -> None:
    refs = {new_public_ref() for _ in range(200)}
    assert len(refs) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", ref) for ref in refs)


def test_a_rendered_form_parses() -> None:
    key, seen = new_checkout_key(), fingerprint([product()])
    parsed = parse_checkout_form(key=key, fingerprint=seen)
    assert (parsed.idempotency_key, parsed.fingerprint) == (key, seen)


@pytest.mark.parametrize(
    ("key", "seen", "code"),
    [
        (None, "0" * 32, "form_expired"),
        ("", "0" * 32, "form_expired"),
        ("k" * 31, "0" * 32, "form_expired"),
        ("k" * 33, "0" * 32, "form_expired"),
        ("k" * 31 + "!", "0" * 32, "form_expired"),
        ("k" * 32, None, "form_expired"),
        ("k" * 32, "0" * 31, "cart_changed"),
        ("k" * 32, "G" * 32, "cart_changed"),
        ("k" * 32, "0" * 32 + "\n", "cart_changed"),
    ],
)
def test_a_mangled_form_is_refused_before_any_database_is_asked(  # type: ignore[no-untyped-def]
    key, seen, code: str
) -> None:
    with pytest.raises(CheckoutError) as refused:
        parse_checkout_form(key=key, fingerprint=seen)
    assert refused.value.code == code


def test_every_checkout_error_has_its_words_and_an_unknown_code_is_a_bug() -> None:
    assert CheckoutError("slot_sold_out", slot="Yoga").message.startswith("Sorry, Yoga is sold out")
    assert CheckoutError("page_unknown").status == 404
    assert CheckoutError("cart_changed").status == 409
    assert CheckoutError("form_expired").status == 400
    with pytest.raises(ValueError):
        CheckoutError("no_such_code")
