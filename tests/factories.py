"""Make rows for tests, committed, with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from shared.models import Calendar, CalendarEntry, CalendarSlot, Post, Product, User

_numbers = itertools.count(1)


class Factory:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _save(self, row):  # type: ignore[no-untyped-def]
        self.session.add(row)
        await self.session.commit()
        return row

    async def user(self, **fields) -> User:  # type: ignore[no-untyped-def]
        n = next(_numbers)
        # A demo user (bp/demo/seed.py) unless a test says otherwise: the demo sign-in, which
        # many tests sign in through, signs in no one else.
        fields.setdefault("email", f"user{n}@demo.invalid")
        fields.setdefault("display_name", f"User {n}")
        return await self._save(User(**fields))

    async def page(self, **fields) -> Post:  # type: ignore[no-untyped-def]
        n = next(_numbers)
        fields.setdefault("slug", f"page-{n}")
        fields.setdefault("title", f"Page {n}")
        return await self._save(Post(**fields))

    async def product(self, **fields) -> Product:  # type: ignore[no-untyped-def]
        n = next(_numbers)
        fields.setdefault("slug", f"product-{n}")
        fields.setdefault("title", f"Product {n}")
        fields.setdefault("price_minor", 250)
        fields.setdefault("currency", "GBP")
        fields.setdefault("available", True)
        return await self._save(Product(**fields))

    async def calendar(self, *, page_id: int, **fields) -> Calendar:  # type: ignore[no-untyped-def]
        fields.setdefault("name", "Workshops")
        return await self._save(Calendar(page_id=page_id, **fields))

    async def slot(self, *, calendar_id: int, **fields) -> CalendarSlot:  # type: ignore[no-untyped-def]
        n = next(_numbers)
        starts = datetime.now(UTC) + timedelta(days=7, hours=n)
        fields.setdefault("title", f"Workshop {n}")
        fields.setdefault("starts_at", starts)
        fields.setdefault("ends_at", starts + timedelta(hours=2))
        fields.setdefault("places", 10)
        fields.setdefault("price_minor", 1500)
        fields.setdefault("currency", "GBP")
        return await self._save(CalendarSlot(calendar_id=calendar_id, **fields))

    async def entry(self, *, slot_id: int, **fields) -> CalendarEntry:  # type: ignore[no-untyped-def]
        fields.setdefault("state", "pending")
        return await self._save(CalendarEntry(slot_id=slot_id, **fields))

    async def cart_item(self, *, product_id: int, **fields) -> CartItem:  # type: ignore[no-untyped-def]
        fields.setdefault("quantity", 1)
        return await self._save(CartItem(product_id=product_id, **fields))
