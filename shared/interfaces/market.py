from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ProductInfo:
    id: int
    slug: str
    title: str
    price_minor: int
    currency: str
    available: bool
    page_id: int | None  # None: sold by the site-level shop


class MarketService(Protocol):
    async def get_product(self, session: AsyncSession, product_id: int) -> ProductInfo | None: ...

    async def get_products(
        self, session: AsyncSession, product_ids: Iterable[int]
    ) -> dict[int, ProductInfo]:
        """All the products asked for that exist, in one query."""
        ...

    async def products_for_page(
        self, session: AsyncSession, page_id: int | None
    ) -> list[ProductInfo]:
        """The available products of one page's shop (None: the site-level shop)."""
        ...
