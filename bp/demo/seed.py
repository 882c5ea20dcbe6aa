"""The demo site that `make run` seeds into an empty database.

It writes the other domains' tables directly (pages, products, calendars, users): in the
embedded default there is no blog, market or events service to own them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Calendar, CalendarSlot, Post, Product, User

# The demo sign-in lists and signs in only users under this reserved domain (RFC 2606's
# .invalid: no real address has it), so it never offers a real user of a shared database.
DEMO_EMAIL_SUFFIX = "@demo.invalid"
DEMO_USERS = ((f"alice{DEMO_EMAIL_SUFFIX}", "Alice"), (f"bob{DEMO_EMAIL_SUFFIX}", "Bob"))

# (slug, title, price in pence, available)
BAKERY_PRODUCTS = (
    ("sourdough-loaf", "Sourdough loaf", 450, True),
    ("cinnamon-bun", "Cinnamon bun", 275, True),
    ("rye-crackers", "Rye crackers", 320, True),
    ("seeded-baguette", "Seeded baguette", 300, False),  # sold out today: not offered
)
GARDEN_PRODUCTS = (
    ("seed-packet", "Heritage tomato seeds", 250, True),
    ("compost-bag", "Compost, 20 litres", 650, True),
)
SITE_PRODUCTS = (
    ("coop-tote-bag", "Co-op tote bag", 800, True),
    ("coop-mug", "Co-op mug", 1200, True),
)
# (page slug, title, days from now, hour, places, price in pence)
SLOTS = (
    ("the-bakery", "Bread-making class", 7, 10, 8, 3500),
    ("the-bakery", "Pastry morning", 14, 9, 3, 2500),  # the small one: 3 places
    ("community-garden", "Planting day", 5, 11, 20, 300),
    ("community-garden", "Composting workshop", 12, 14, 12, 500),
)


async def seed_demo_site_if_empty(session: AsyncSession) -> bool:
    """Add the demo site when there are no pages and no products; True when it did."""
    pages = await session.scalar(select(func.count()).select_from(Post))
    products = await session.scalar(select(func.count()).select_from(Product))
    if pages or products:
        return False

    for email, name in DEMO_USERS:
        existing = await session.scalar(select(User).where(User.email == email))
        if existing is None:
            session.add(User(email=email, display_name=name))

    bakery = Post(slug="the-bakery", title="The Bakery")
    garden = Post(slug="community-garden", title="Community Garden")
    session.add_all([bakery, garden])
    await session.flush()

    for page_id, rows in ((bakery.id, BAKERY_PRODUCTS), (garden.id, GARDEN_PRODUCTS)):
        session.add_all(_products(rows, page_id=page_id))
    session.add_all(_products(SITE_PRODUCTS, page_id=None))

    calendars = {
        page.slug: Calendar(page_id=page.id, name=f"{page.title} events")
        for page in (bakery, garden)
    }
    session.add_all(calendars.values())
    await session.flush()

    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for slug, title, days, hour, places, price in SLOTS:
        starts = today.replace(hour=hour) + timedelta(days=days)
        session.add(
            CalendarSlot(
                calendar_id=calendars[slug].id,
                title=title,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                places=places,
                price_minor=price,
                currency="GBP",
            )
        )
    await session.commit()
    return True


def _products(
    rows: tuple[tuple[str, str, int, bool], ...], *, page_id: int | None
) -> list[Product]:
    return [
        Product(
            slug=slug,
            title=title,
            price_minor=price,
            currency="GBP",
            available=available,
            page_id=page_id,
        )
        for slug, title, price, available in rows
    ]
