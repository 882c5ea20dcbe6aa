"""Totals of a loaded cart, in integer minor units per currency: pure functions, no I/O.

A page's cart is paid to that page, so totals are per page (a "section"); a page may sell
in more than one currency, so a total is a mapping currency -> minor units. Products that
are not available any more stay visible but count towards no total.

Lines held by the cart's pending order are not the cart's to change or check out: the page
shows that order instead (`pending_order`, with its items), and they count towards no total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bp.cart.services.load import BookingLine, LoadedCart, ProductLine
from bp.cart.services.pending_orders import PendingOrder
from shared.interfaces import PageInfo


@dataclass(frozen=True)
class PricedLine:
    line: ProductLine
    total_minor: int | None  # None: not available, not counted


@dataclass(frozen=True)
class Section:
    """One page's cart (page_id None: the site-level cart)."""

    page_id: int | None
    page: PageInfo | None
    product_lines: tuple[PricedLine, ...]
    booking_lines: tuple[BookingLine, ...]
    totals: Mapping[str, int]
    item_count: int
    # The order from this cart waiting for payment (its lines are not in product_lines).
    pending_order: PendingOrder | None = None

    @property
    def has_unavailable(self) -> bool:
        return any(priced.total_minor is None for priced in self.product_lines)

    @property
    def has_sold_out(self) -> bool:
        return any(booking.sold_out for booking in self.booking_lines)

    @property
    def is_empty(self) -> bool:
        """Nothing to check out (a pending order may still be shown)."""
        return not self.product_lines and not self.booking_lines

    @property
    def can_check_out(self) -> bool:
        return self.pending_order is None and not self.is_empty


@dataclass(frozen=True)
class Overview:
    sections: tuple[Section, ...]

    @property
    def item_count(self) -> int:
        return sum(section.item_count for section in self.sections)

    @property
    def site(self) -> Section | None:
        return next((s for s in self.sections if s.page_id is None), None)

    @property
    def pages(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.page_id is not None)


def line_total(line: ProductLine) -> int | None:
    return line.unit_price_minor * line.quantity if line.available else None


def add_up(amounts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Sum (currency, minor) pairs per currency, currencies in alphabetical order."""
    totals: dict[str, int] = {}
    for currency, minor in amounts:
        totals[currency] = totals.get(currency, 0) + minor
    return dict(sorted(totals.items()))


def build_section(
    page_id: int | None,
    page: PageInfo | None,
    product_lines: Iterable[ProductLine],
    booking_lines: Iterable[BookingLine],
    pending_order: PendingOrder | None = None,
) -> Section:
    lines = tuple(product_lines)
    priced = tuple(PricedLine(line, line_total(line)) for line in lines if not line.held)
    bookings = tuple(booking_lines)
    counted = [(p.line, p.total_minor) for p in priced if p.total_minor is not None]
    totals = add_up(
        [(line.currency, total) for line, total in counted]
        + [(booking.currency, booking.price_minor) for booking in bookings]
    )
    return Section(
        page_id=page_id,
        page=page,
        product_lines=priced,
        booking_lines=bookings,
        totals=totals,
        item_count=sum(line.quantity for line, _ in counted) + len(bookings),
        pending_order=pending_order,
    )


def page_section(cart: LoadedCart, page: PageInfo) -> Section:
    return build_section(
        page.id,
        page,
        (line for line in cart.product_lines if line.page_id == page.id),
        (booking for booking in cart.booking_lines if booking.page_id == page.id),
        cart.pending_orders.get(page.id),
    )


def overview(cart: LoadedCart) -> Overview:
    """Every page with items, the site-level cart first, then pages by title."""
    page_ids = {line.page_id for line in cart.product_lines}
    page_ids |= {booking.page_id for booking in cart.booking_lines}
    page_ids |= set(cart.pending_orders)
    sections = [
        build_section(
            page_id,
            cart.pages.get(page_id) if page_id is not None else None,
            (line for line in cart.product_lines if line.page_id == page_id),
            (booking for booking in cart.booking_lines if booking.page_id == page_id),
            cart.pending_orders.get(page_id),
        )
        for page_id in page_ids
    ]
    sections.sort(
        key=lambda s: (
            s.page_id is not None,
            (s.page.title.casefold() if s.page else ""),
            s.page_id or 0,
        )
    )
    return Overview(sections=tuple(sections))


def item_count(cart: LoadedCart) -> int:
    """Items in the whole cart, as the summary and every page's header count them: the
    available products' quantities and the bookings, of every page, held lines not."""
    return overview(cart).item_count
