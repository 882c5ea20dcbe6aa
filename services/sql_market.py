"""services.market over the shared `products` table."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import ProductInfo
from shared.models import Product


def _info(product: Product) -> ProductInfo:
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
        product = await session.get(Product, product_id)
        return _info(product) if product else None

    async def get_products(
        self, session: AsyncSession, product_ids: Iterable[int]
    ) -> dict[int, ProductInfo]:
        wanted = set(product_ids)
        if not wanted:
            return {}
        products = await session.scalars(select(Product).where(Product.id.in_(wanted)))
        return {product.id: _info(product) for product in products}

    async def products_for_page(
        self, session: AsyncSession, page_id: int | None
    ) -> list[ProductInfo]:
        page_filter = Product.page_id.is_(None) if page_id is None else Product.page_id == page_id
        products = await session.scalars(
            select(Product).where(page_filter, Product.available.is_(True)).order_by(Product.title)
        )
        return [_info(product) for product in products]
