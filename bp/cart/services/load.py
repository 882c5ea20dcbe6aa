"""Fetch what a cart page needs, in a fixed number of queries, into frozen dataclasses.

However many lines a cart has: one query for the lines, one for their products
(services.market.get_products), one for the pending bookings (services.calendar), one for
the orders waiting for payment (pending_orders.py), and one for the pages (services.blog) —
the page cart looks its one page up by slug instead.
Totals are computed afterwards from these objects by bp/cart/services/totals.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.errors import CartError
from bp.cart.services.lines import LineScope, live_lines_query
from bp.cart.services.pending_orders import PendingOrder, pending_order_of, pending_orders_of
from shared.interfaces import EntryInfo, Owner, PageInfo, ProductInfo
from shared.registry import services
from shared.statements import fetch_all, owner_params

# The market is another service: a line whose product it no longer knows is shown, not lost.
MISSING_PRODUCT_TITLE = "A product that is no longer sold"


@dataclass(frozen=True)
class ProductLine:
    line_id: int
    product_id: int
    page_id: int | None
    title: str
    unit_price_minor: int
    currency: str
    quantity: int
    available: bool
    # The pending order holding this line (checked out, waiting for payment), or None: free.
    order_id: int | None = None

    @property
    def held(self) -> bool:
        return self.order_id is not None


@dataclass(frozen=True)
class BookingLine:
    """A pending booking: one place in a slot, priced by the slot; its quantity is 1."""

    entry_id: int
    slot_id: int
    page_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    price_minor: int
    currency: str
    # The slot had no place left when the cart was loaded: its checkout would be refused.
    # Shown, not hidden or dropped, so the shopper sees why and can remove it.
    sold_out: bool = False


@dataclass(frozen=True)
class LoadedCart:
    product_lines: tuple[ProductLine, ...] = ()
    booking_lines: tuple[BookingLine, ...] = ()
    pages: Mapping[int, PageInfo] = field(default_factory=dict)
    # Each cart's order waiting for payment, by page (None: the site-level cart).
    pending_orders: Mapping[int | None, PendingOrder] = field(default_factory=dict)


async def load_cart(session: AsyncSession, *, owner: Owner | None) -> LoadedCart:
    """The owner's whole cart: every page's lines and bookings, and the site-level lines."""
    if owner is None:  # an anonymous visitor who never added anything
        return LoadedCart()
    product_lines = await _product_lines(session, owner=owner, page=None, all_pages=True)
    booking_lines = _booking_lines(await services.calendar.pending_entries(session, owner))
    pending = await pending_orders_of(session, owner=owner)
    page_ids = {line.page_id for line in product_lines if line.page_id is not None}
    page_ids |= {booking.page_id for booking in booking_lines}
    page_ids |= {page_id for page_id in pending if page_id is not None}
    pages = await services.blog.pages_by_ids(session, page_ids)
    return LoadedCart(
        product_lines=product_lines,
        booking_lines=booking_lines,
        pages=pages,
        pending_orders=pending,
    )


async def load_page_cart(
    session: AsyncSession, *, owner: Owner | None, page_slug: str
) -> tuple[PageInfo, LoadedCart]:
    """One page's cart; `CartError("page_unknown")` when no page has that slug.

    The lines and bookings of every page come with it, in the same queries: the header's
    item count is the whole cart's (totals.item_count), and asking for one page's lines
    would cost as many queries again for it. Only this page's pending order is looked up.
    """
    page = await services.blog.page_by_slug(session, page_slug)
    if page is None:
        raise CartError("page_unknown")
    if owner is None:
        return page, LoadedCart(pages={page.id: page})
    product_lines = await _product_lines(session, owner=owner, page=None, all_pages=True)
    entries = await services.calendar.pending_entries(session, owner)
    pending = await pending_order_of(session, owner=owner, page_id=page.id)
    return page, LoadedCart(
        product_lines=product_lines,
        booking_lines=_booking_lines(entries),
        pages={page.id: page},
        pending_orders={} if pending is None else {page.id: pending},
    )


async def load_item_count_lines(session: AsyncSession, *, owner: Owner | None) -> LoadedCart:
    """What the header's item count needs and no more (every other page than the carts'):
    the lines with their products and the bookings, in three queries; no pages, no orders."""
    if owner is None:
        return LoadedCart()
    product_lines = await _product_lines(session, owner=owner, page=None, all_pages=True)
    booking_lines = _booking_lines(await services.calendar.pending_entries(session, owner))
    return LoadedCart(product_lines=product_lines, booking_lines=booking_lines)


async def _product_lines(
    session: AsyncSession, *, owner: Owner, page: int | None, all_pages: bool
) -> tuple[ProductLine, ...]:
    scope: LineScope = "all" if all_pages else "site" if page is None else "page"
    query = live_lines_query(signed_in=owner.signed_in, scope=scope)
    rows = await fetch_all(session, query, {**owner_params(owner), "page_id": page})
    products = await services.market.get_products(session, {row.product_id for row in rows})
    return tuple(
        _product_line(row.id, row.page_id, row.quantity, row.product_id, row.order_id, products)
        for row in rows
    )


def _product_line(
    line_id: int,
    page_id: int | None,
    quantity: int,
    product_id: int,
    order_id: int | None,
    products: Mapping[int, ProductInfo],
) -> ProductLine:
    product = products.get(product_id)
    return ProductLine(
        line_id=line_id,
        product_id=product_id,
        page_id=page_id,
        title=product.title if product else MISSING_PRODUCT_TITLE,
        unit_price_minor=product.price_minor if product else 0,
        currency=product.currency if product else "",
        quantity=quantity,
        available=bool(product and product.available),
        order_id=order_id,
    )


def _booking_lines(entries: list[EntryInfo]) -> tuple[BookingLine, ...]:
    return tuple(
        BookingLine(
            entry_id=entry.id,
            slot_id=entry.slot_id,
            page_id=entry.page_id,
            title=entry.title,
            starts_at=entry.starts_at,
            ends_at=entry.ends_at,
            price_minor=entry.price_minor,
            currency=entry.currency,
            sold_out=entry.sold_out,
        )
        for entry in sorted(entries, key=lambda entry: (entry.starts_at, entry.id))
    )
