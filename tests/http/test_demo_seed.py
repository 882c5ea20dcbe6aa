"""The demo seed: an empty database gets a small site to click through; others are left be."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.demo.seed import seed_demo_site_if_empty
from shared.models import Calendar, CalendarSlot, Post, Product, User
from tests.factories import Factory


async def _count(db: AsyncSession, model) -> int:  # type: ignore[no-untyped-def]
    return await db.scalar(select(func.count()).select_from(model)) or 0


async def test_seed_fills_an_empty_database_once(db: AsyncSession) -> None:
    assert await seed_demo_site_if_empty(db) is True

    pages = list(await db.scalars(select(Post).order_by(Post.title)))
    assert [p.title for p in pages] == ["Community Garden", "The Bakery"]
    products = list(await db.scalars(select(Product)))
    assert {p.currency for p in products} == {"GBP"}
    assert all(isinstance(p.price_minor, int) and p.price_minor > 0 for p in products)
    assert [p.title for p in products if not p.available] == ["Seeded baguette"]
    assert len([p for p in products if p.page_id is None]) == 2
    assert await _count(db, Calendar) == 2
    assert sorted(await db.scalars(select(User.email))) == [
        "alice@demo.invalid",
        "bob@demo.invalid",
    ]
    slots = list(await db.scalars(select(CalendarSlot)))
    assert min(s.places for s in slots) == 3

    assert await seed_demo_site_if_empty(db) is False
    assert await _count(db, Product) == len(products)


async def test_seed_leaves_a_database_with_pages_alone(db: AsyncSession, factory: Factory) -> None:
    await factory.page(title="Someone's real page")
    assert await seed_demo_site_if_empty(db) is False
    assert await _count(db, Post) == 1 and await _count(db, Product) == 0


async def test_seed_leaves_a_database_with_products_alone(
    db: AsyncSession, factory: Factory
) -> None:
    await factory.product(page_id=None)
    assert await seed_demo_site_if_empty(db) is False
    assert await _count(db, Post) == 0


async def test_seeded_site_can_be_clicked_through(client, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    await seed_demo_site_if_empty(db)

    home = await (await client.get("/")).get_data(as_text=True)
    bakery = await (await client.get("/shop/the-bakery/")).get_data(as_text=True)
    site_shop = await (await client.get("/shop/")).get_data(as_text=True)

    assert "The Bakery" in home and "Community Garden" in home and 'href="/shop/"' in home
    assert "Sourdough loaf" in bakery and "Seeded baguette" not in bakery
    assert "Pastry morning" in bakery and "3 of 3 places left" in bakery
    assert "Co-op tote bag" in site_shop
