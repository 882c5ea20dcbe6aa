"""safe_next() refuses what could not go out in a Location header as it is, or would be read
by a browser as another site: control characters, non-ASCII, backslashes, whitespace at the
ends, `//host` and brackets urlsplit cannot read (issue 8, item 3)."""

from __future__ import annotations

import pytest

from bp.cart.safe_redirect import header_safe, safe_next
from tests.unsafe_urls import C1_CONTROLS, CONTROLS, UNSAFE_BACK_URLS

OWN = "http://127.0.0.1:8002"
SIBLINGS = frozenset({"http://127.0.0.1:8001", "https://events.coop.example"})


@pytest.mark.parametrize("url", UNSAFE_BACK_URLS, ids=ascii)
def test_next_with_a_control_character_non_ascii_or_a_trick_is_refused(url: str) -> None:
    assert safe_next(url, own_origin=OWN, sibling_origins=SIBLINGS) is None


@pytest.mark.parametrize("ch", CONTROLS + C1_CONTROLS + ["\u2028", "\u2029"], ids=ascii)
def test_a_control_character_anywhere_in_an_own_or_sibling_url_is_refused(ch: str) -> None:
    for url in (
        f"/cart/{ch}",
        f"{ch}/cart/",
        f"/cart/?q={ch}",
        f"{OWN}/cart/{ch}",
        f"http://127.0.0.1:8001/{ch}bread",
    ):
        assert safe_next(url, own_origin=OWN, sibling_origins=SIBLINGS) is None, ascii(url)


@pytest.mark.parametrize(
    "url",
    [
        "/cart/bakery/",
        "/shop/bakery/?sort=price&page=2#top",
        "/shop/caf%C3%A9/",  # non-ASCII already percent-encoded, as url_for makes it
        f"{OWN}/cart/",
        "http://127.0.0.1:8001/products/bread",
        "https://events.coop.example/slots/4",
    ],
)
def test_plain_ascii_urls_of_this_site_and_its_siblings_still_pass(url: str) -> None:
    assert header_safe(url)
    assert safe_next(url, own_origin=OWN, sibling_origins=SIBLINGS) == url


def test_a_url_longer_than_2000_characters_is_refused() -> None:
    assert safe_next("/" + "a" * 2000, own_origin=OWN, sibling_origins=SIBLINGS) is None
    assert safe_next("/" + "a" * 1999, own_origin=OWN, sibling_origins=SIBLINGS) is not None
