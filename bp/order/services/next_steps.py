"""What happens after an order, as the payment's return page and the order page say it.

For bookings: when (each booking's time, shown in the site's time zone) and where (the shop,
by its page's name: the calendar interface knows no address, so none is made up). For
products: the shop's own words (`PageConfig.next_steps`), else DEFAULT_PRODUCT_STEPS.

At most one query of its own (the page's text, only when the order has products and a
page): the bookings and the page come from what the caller has loaded or loads once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.order import Order, OrderItemKind
from models.page_config import PageConfig
from shared.interfaces import EntryInfo, PageInfo
from shared.registry import services

# When the shop has said nothing: true whatever it sells. Not "by email": this site may
# hold no address of an anonymous shopper, so the order number is what ties them to it.
DEFAULT_PRODUCT_STEPS = (
    "The shop will be in touch about collection or delivery.\n"
    "Keep your order number: it is how the shop finds your order."
)
# Booking states that still mean a place (ordered: held while unpaid; confirmed: paid).
_HELD = ("ordered", "confirmed")


@dataclass(frozen=True)
class NextSteps:
    bookings: tuple[EntryInfo, ...]  # when: the places the order holds, by start time
    place: str | None  # where: the shop's name; None: the site's own cart (no page)
    product_paragraphs: tuple[str, ...]  # the products' text; empty: no products ordered


def paragraphs(text: str) -> tuple[str, ...]:
    """A shop's plain text as paragraphs: one a line, blank lines and spaces around dropped
    (the template escapes each; no markup is taken from the text)."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def has_bookings(order: Order) -> bool:
    return any(item.kind == OrderItemKind.BOOKING for item in order.items)


async def next_steps_for(
    session: AsyncSession,
    order: Order,
    *,
    page: PageInfo | None,
    bookings: Sequence[EntryInfo],
) -> NextSteps:
    """`order` with its items; `page` its page (None for the site's cart); `bookings` the
    entries it holds now (services.calendar.entries_for_order)."""
    has_products = any(item.kind == OrderItemKind.PRODUCT for item in order.items)
    text = None
    if has_products and order.page_id is not None:
        text = await session.scalar(
            select(PageConfig.next_steps).where(PageConfig.page_id == order.page_id)
        )
    return NextSteps(
        bookings=tuple(entry for entry in bookings if entry.state in _HELD),
        place=page.title if page is not None else None,
        # A shop's text of nothing but blank lines counts as unset.
        product_paragraphs=(paragraphs(text or "") or paragraphs(DEFAULT_PRODUCT_STEPS))
        if has_products
        else (),
    )


async def load_next_steps(session: AsyncSession, order: Order) -> NextSteps:
    """next_steps_for() for a page that has loaded only the order (the return page): its
    bookings and its page are read here, each in one query and only when needed."""
    bookings = (
        await services.calendar.entries_for_order(session, order.id) if has_bookings(order) else []
    )
    page = None
    if order.page_id is not None:
        page = await services.blog.page_by_id(session, order.page_id)
    return await next_steps_for(session, order, page=page, bookings=bookings)
