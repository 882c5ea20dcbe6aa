"""services.market over the shared `products` table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import ProductInfo
from shared.models import Product
from shared.statements import fetch_all, fetch_first

# Built once, each (shared/statements.py): every add and every cart page reads products.
_PRODUCT_COLUMNS = (
    Product.id,
    Product.slug,
    Product.title,
    Product.price_minor,
    Product.currency,
    Product.available,
    Product.page_id,
)
_PRODUCT_BY_ID = select(*_PRODUCT_COLUMNS).where(Product.id == bindparam("product_id"))
_PRODUCTS_BY_IDS = select(*_PRODUCT_COLUMNS).where(
    Product.id.in_(bindparam("product_ids", expanding=True))
)


def _info(product: Any) -> ProductInfo:
    """From a row of _PRODUCT_COLUMNS (SQLAlchemy's, or asyncpg's by way of fetch_all)."""
    return ProductInfo(
        id=product.id,
        slug=product.slug,
        title=product.title,
        price_minor=product.price_minor,
        currency=product.currency,
        available=product.available,
        page_id=product.page_id,
    )


class SqlMarketService:
    async def get_product(self, session: AsyncSession, product_id: int) -> ProductInfo | None:
        row = await fetch_first(session, _PRODUCT_BY_ID, {"product_id": product_id})
        return _info(row) if row else None

    async def get_products(
        self, session: AsyncSession, product_ids: Iterable[int]
    ) -> dict[int, ProductInfo]:
        wanted = sorted(set(product_ids))
        if not wanted:
            return {}
        rows = await fetch_all(session, _PRODUCTS_BY_IDS, {"product_ids": wanted})
        return {row.id: _info(row) for row in rows}

    async def products_for_page(
        self, session: AsyncSession, page_id: int | None
    ) -> list[ProductInfo]:
        page_filter = Product.page_id.is_(None) if page_id is None else Product.page_id == page_id
        products = await session.scalars(
            select(Product).where(page_filter, Product.available.is_(True)).order_by(Product.title)
        )
        return [_info(product) for product in products]
