"""Form input becomes a cart value or a CartError with a clear message, before any query."""

from __future__ import annotations

import pytest

from bp.cart.safe_redirect import safe_next
from bp.cart.services.errors import MESSAGES, CartError
from bp.cart.services.parsing import (
    parse_line_id,
    parse_page_slug,
    parse_product_id,
    parse_quantity,
)

BAD_QUANTITIES = [
    "0",
    "-1",
    "1.5",
    "abc",
    "",
    "   ",
    None,
    "99999999999999999999",
    "100",  # one past the configured maximum below
    "1e2",
    "+3",
    "٣",  # an Arabic-Indic three: a digit to str.isdigit(), not to a shopper's form
    "²",
    "0x10",
    "3 4",
]


@pytest.mark.parametrize("raw", ["1", "7", "99", " 12 ", "007"])
def test_quantity_accepts_whole_numbers_from_1_to_the_maximum(raw: str) -> None:
    assert parse_quantity(raw, max_quantity=99) == int(raw)


@pytest.mark.parametrize("raw", BAD_QUANTITIES)
def test_quantity_refuses_anything_else_with_the_range_in_the_message(raw: str | None) -> None:
    with pytest.raises(CartError) as caught:
        parse_quantity(raw, max_quantity=99)
    assert caught.value.code == "quantity_invalid"
    assert caught.value.status == 400
    assert "whole number from 1 to 99" in caught.value.message


@pytest.mark.parametrize("raw", ["1", "42", str(2**31 - 1)])
def test_product_id_accepts_database_ids(raw: str) -> None:
    assert parse_product_id(raw) == int(raw)


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "", None, "1.0", str(2**31), "9" * 30])
def test_product_id_refuses_what_cannot_name_a_product(raw: str | None) -> None:
    with pytest.raises(CartError) as caught:
        parse_product_id(raw)
    assert caught.value.code == "product_unknown"
    assert "could not find that product" in caught.value.message


def test_line_id_from_the_url_past_the_database_range_is_an_unknown_line() -> None:
    with pytest.raises(CartError) as caught:
        parse_line_id(2**40)
    assert (caught.value.code, caught.value.status) == ("line_unknown", 404)
    assert parse_line_id(5) == 5


@pytest.mark.parametrize("raw", ["", "a" * 201, "-start", "has space", "nul\x00", "../x", "é"])
def test_page_slug_refuses_what_no_page_is_called(raw: str) -> None:
    with pytest.raises(CartError) as caught:
        parse_page_slug(raw)
    assert (caught.value.code, caught.value.status) == ("page_unknown", 404)


def test_page_slug_accepts_the_blogs_slugs() -> None:
    assert parse_page_slug("the-bakery_2") == "the-bakery_2"


def test_every_error_code_has_one_message_and_unknown_codes_are_a_programming_error() -> None:
    error = CartError("quantity_too_large", title="Bread", max_quantity=99, current=98)
    assert error.message == MESSAGES["quantity_too_large"].format(
        title="Bread", max_quantity=99, current=98
    )
    assert "at most 99 of Bread" in error.message and "you already have 98" in error.message
    with pytest.raises(ValueError):
        CartError("no_such_code")


SIBLINGS = frozenset({"http://127.0.0.1:8001", "https://events.coop.example"})
OWN = "http://cart.test"


@pytest.mark.parametrize(
    "url",
    [
        "/cart/bakery/",
        "/shop/bakery/?sort=price",
        "http://cart.test/cart/",
        "http://127.0.0.1:8001/products/bread",
        "https://events.coop.example/",
    ],
)
def test_next_may_point_at_this_service_or_a_sibling(url: str) -> None:
    assert safe_next(url, own_origin=OWN, sibling_origins=SIBLINGS) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/",
        "http://127.0.0.1:8001@evil.example/",
        "javascript:alert(1)",
        "http://events.coop.example/",  # the sibling is https only
        "relative/path",
        "/cart/\r\nSet-Cookie: x=1",
        "ftp://127.0.0.1:8001/",
    ],
)
def test_next_refuses_other_sites_and_tricks(url: str | None) -> None:
    assert safe_next(url, own_origin=OWN, sibling_origins=SIBLINGS) is None
