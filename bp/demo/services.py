"""What the stand-in pages show and do, through the registry's interfaces.

The demo sign-in stands in for the blog service, which owns users; it reads the shared
`users` table directly, as the blog itself would, but lists and signs in only the demo users
the seed made (`@demo.invalid`), never anyone else of a shared table. Everything else goes through
`services.blog`, `services.market` and `services.calendar`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.demo.seed import DEMO_EMAIL_SUFFIX
from shared.interfaces import (
    BookingError,
    EntryInfo,
    Owner,
    PageInfo,
    ProductInfo,
    SlotInfo,
)
from shared.models import User
from shared.registry import services


@dataclass(frozen=True)
class HomePage:
    pages: list[PageInfo]
    has_site_shop: bool


@dataclass(frozen=True)
class ShopPage:
    page: PageInfo | None  # None: the site-level shop
    products: list[ProductInfo]
    slots: list[SlotInfo]


@dataclass(frozen=True)
class DemoUser:
    id: int
    email: str
    display_name: str


async def load_home(session: AsyncSession) -> HomePage:
    pages = await services.blog.list_pages(session)
    site_products = await services.market.products_for_page(session, None)
    return HomePage(pages=pages, has_site_shop=bool(site_products))


async def load_shop(session: AsyncSession, *, page_slug: str) -> ShopPage | None:
    """One page's shop: its products and its calendar's open slots; None for no such page."""
    page = await services.blog.page_by_slug(session, page_slug)
    if page is None:
        return None
    products = await services.market.products_for_page(session, page.id)
    slots = await services.calendar.open_slots(session, page.id)
    return ShopPage(page=page, products=products, slots=slots)


async def load_site_shop(session: AsyncSession) -> ShopPage:
    """The site-level shop: products that belong to no page (it has no calendar)."""
    products = await services.market.products_for_page(session, None)
    return ShopPage(page=None, products=products, slots=[])


class ShopNotFound(LookupError):
    pass


async def book_open_slot(
    session: AsyncSession,
    *,
    owner: Owner,
    page_slug: str,
    slot_id: int | None,
    max_places: int | None = None,
) -> EntryInfo:
    """Book one of the page's open slots for the owner, as the events service would.

    Only a slot that the page's shop offers can be booked: an unknown, past or other
    page's slot is refused with BookingError("slot_not_offered"), a full one with
    SlotSoldOut (from the calendar service), one of which the owner has `max_places` in
    the cart or unpaid orders already with HoldingLimitReached; ShopNotFound for an
    unknown page.
    """
    page = await services.blog.page_by_slug(session, page_slug)
    if page is None:
        raise ShopNotFound(page_slug)
    offered = {slot.id for slot in await services.calendar.open_slots(session, page.id)}
    if slot_id not in offered:
        raise BookingError("slot_not_offered")
    entry = await services.calendar.book_slot(session, owner, slot_id, max_places=max_places)
    await session.commit()
    return entry


def _is_demo_user() -> ColumnElement[bool]:
    # The seed's users only (bp/demo/seed.py): addresses under the reserved .invalid domain,
    # which no real user of a shared `users` table can have.
    return User.email.endswith(DEMO_EMAIL_SUFFIX, autoescape=True)


async def list_demo_users(session: AsyncSession) -> list[DemoUser]:
    """The demo users the seed made; never the other users of the table."""
    users = await session.scalars(
        select(User).where(_is_demo_user()).order_by(User.display_name, User.id)
    )
    return [DemoUser(id=u.id, email=u.email, display_name=u.display_name) for u in users]


async def find_demo_user(session: AsyncSession, *, user_id: int) -> DemoUser | None:
    """The demo user with that id; None for any other id, a real user's included."""
    user = await session.scalar(select(User).where(User.id == user_id, _is_demo_user()))
    if user is None:
        return None
    return DemoUser(id=user.id, email=user.email, display_name=user.display_name)
