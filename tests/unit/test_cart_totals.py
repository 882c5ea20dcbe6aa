"""Totals are integer minor units per currency, computed by pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bp.cart.services.adopt import Adoption, MergedLine, describe
from bp.cart.services.load import BookingLine, LoadedCart, ProductLine
from bp.cart.services.summary import summary
from bp.cart.services.totals import add_up, line_total, overview, page_section
from shared.interfaces import PageInfo

BAKERY = PageInfo(id=1, slug="bakery", title="Bakery")
ARTS = PageInfo(id=2, slug="arts", title="Arts centre")
START = datetime(2030, 5, 4, 10, 0, tzinfo=UTC)


def product(line_id: int, *, page: int | None, price: int, quantity: int, **kw) -> ProductLine:  # type: ignore[no-untyped-def]
    return ProductLine(
        line_id=line_id,
        product_id=100 + line_id,
        page_id=page,
        title=kw.get("title", f"Product {line_id}"),
        unit_price_minor=price,
        currency=kw.get("currency", "GBP"),
        quantity=quantity,
        available=kw.get("available", True),
    )


def booking(entry_id: int, *, page: int, price: int, currency: str = "GBP") -> BookingLine:
    return BookingLine(
        entry_id=entry_id,
        slot_id=entry_id,
        page_id=page,
        title=f"Workshop {entry_id}",
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        price_minor=price,
        currency=currency,
    )


def test_a_line_total_is_unit_price_times_quantity_in_minor_units() -> None:
    assert line_total(product(1, page=1, price=333, quantity=3)) == 999


def test_an_unavailable_product_has_no_line_total() -> None:
    assert line_total(product(1, page=1, price=333, quantity=3, available=False)) is None


def test_add_up_keeps_currencies_apart_in_alphabetical_order() -> None:
    assert add_up([("GBP", 100), ("EUR", 5), ("GBP", 250)]) == {"EUR": 5, "GBP": 350}
    assert list(add_up([("GBP", 1), ("EUR", 1)])) == ["EUR", "GBP"]


def test_page_total_counts_products_and_bookings_but_not_unavailable_products() -> None:
    cart = LoadedCart(
        product_lines=(
            product(1, page=1, price=250, quantity=2),
            product(2, page=1, price=999, quantity=5, available=False),
            product(3, page=2, price=10_000, quantity=1),  # another page's
        ),
        booking_lines=(booking(7, page=1, price=1500), booking(8, page=2, price=1)),
        pages={1: BAKERY, 2: ARTS},
    )
    section = page_section(cart, BAKERY)
    assert section.totals == {"GBP": 250 * 2 + 1500}
    assert section.item_count == 3  # two loaves and one booking; the unavailable line is not
    assert section.has_unavailable
    assert [p.total_minor for p in section.product_lines] == [500, None]
    assert [b.entry_id for b in section.booking_lines] == [7]


def test_a_page_selling_in_two_currencies_has_two_totals() -> None:
    cart = LoadedCart(
        product_lines=(
            product(1, page=1, price=250, quantity=2),
            product(2, page=1, price=300, quantity=1, currency="EUR"),
        ),
        booking_lines=(booking(3, page=1, price=1000, currency="EUR"),),
        pages={1: BAKERY},
    )
    assert page_section(cart, BAKERY).totals == {"EUR": 1300, "GBP": 500}


def test_overview_has_the_site_cart_first_then_pages_by_title() -> None:
    cart = LoadedCart(
        product_lines=(
            product(1, page=1, price=100, quantity=1),
            product(2, page=None, price=50, quantity=4),
            product(3, page=2, price=700, quantity=1),
        ),
        booking_lines=(booking(9, page=2, price=1200),),
        pages={1: BAKERY, 2: ARTS},
    )
    result = overview(cart)
    assert [s.page_id for s in result.sections] == [None, 2, 1]  # site, "Arts centre", "Bakery"
    assert result.site is not None and result.site.totals == {"GBP": 200}
    assert [s.totals for s in result.pages] == [{"GBP": 1900}, {"GBP": 100}]
    assert result.item_count == 4 + 2 + 1


def test_an_empty_cart_has_no_sections() -> None:
    result = overview(LoadedCart())
    assert result.sections == () and result.item_count == 0 and result.site is None


def test_summary_json_shape_for_the_navigation_badge() -> None:
    cart = LoadedCart(
        product_lines=(
            product(1, page=1, price=250, quantity=2),
            product(2, page=None, price=5, quantity=1),
        ),
        pages={1: BAKERY},
    )
    body = summary(overview(cart), format_money=lambda minor, cur: f"{cur} {minor}")
    assert body == {
        "item_count": 3,
        "pages": [
            {
                "slug": "bakery",
                "title": "Bakery",
                "item_count": 2,
                "totals": [{"currency": "GBP", "amount_minor": 500, "formatted": "GBP 500"}],
            }
        ],
        "site": {
            "item_count": 1,
            "totals": [{"currency": "GBP", "amount_minor": 5, "formatted": "GBP 5"}],
        },
    }


def test_adoption_message_names_what_was_merged_capped_and_moved() -> None:
    adoption = Adoption(
        lines=(
            MergedLine(product_id=1, title="Bread", added=2, quantity_now=3, capped=False),
            MergedLine(product_id=2, title="Honey", added=50, quantity_now=99, capped=True),
        ),
        bookings_moved=1,
        max_quantity=99,
    )
    message = describe(adoption)
    assert message is not None
    assert "52 items from before you signed in were added to your cart" in message
    assert "Bread ×3 now" in message and "Honey ×99 now" in message
    assert "Honey: a cart holds at most 99 of one product" in message
    assert "1 booking moved to your cart too." in message


def test_adoption_message_for_bookings_only_and_for_nothing() -> None:
    only_bookings = Adoption(lines=(), bookings_moved=2, max_quantity=99)
    assert describe(only_bookings) == "2 bookings from before you signed in moved to your cart."
    assert describe(Adoption(lines=(), bookings_moved=0, max_quantity=99)) is None
