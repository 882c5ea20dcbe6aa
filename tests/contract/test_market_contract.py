"""MarketService contract: products by id, many at once, and a page's shop."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import MarketService, ProductInfo
from tests.conftest import QueryCounter
from tests.factories import Factory


async def test_get_product_returns_the_product_as_plain_data(
    market: MarketService, factory: Factory, db: AsyncSession
) -> None:
    page_id = (await factory.page()).id
    product = await factory.product(
        slug="oat-milk", title="Oat milk", price_minor=199, currency="EUR", page_id=page_id
    )

    found = await market.get_product(db, product.id)

    assert found == ProductInfo(
        id=product.id,
        slug="oat-milk",
        title="Oat milk",
        price_minor=199,
        currency="EUR",
        available=True,
        page_id=page_id,
    )


async def test_get_product_of_an_unknown_id_is_none_and_unavailable_ones_are_still_found(
    market: MarketService, factory: Factory, db: AsyncSession
) -> None:
    # The cart must be able to show a line whose product has gone off sale.
    gone = await factory.product(available=False)

    assert await market.get_product(db, gone.id + 1000) is None
    found = await market.get_product(db, gone.id)
    assert found is not None and found.available is False and found.page_id is None


async def test_get_products_fetches_many_in_one_query_and_skips_unknown_ids(
    market: MarketService, factory: Factory, db: AsyncSession, query_counter: QueryCounter
) -> None:
    products = [await factory.product() for _ in range(4)]
    wanted = [product.id for product in products[:3]]
    query_counter.reset()

    found = await market.get_products(db, [*wanted, wanted[0], 999_999])

    assert query_counter.count == 1
    assert sorted(found) == sorted(wanted)
    assert all(found[product_id].id == product_id for product_id in wanted)
    assert found[wanted[1]].title == products[1].title
    query_counter.reset()
    assert await market.get_products(db, []) == {}


async def test_products_for_page_are_that_pages_available_products(
    market: MarketService, factory: Factory, db: AsyncSession
) -> None:
    page_id, other_page_id = (await factory.page()).id, (await factory.page()).id
    jam = await factory.product(title="Jam", page_id=page_id)
    honey = await factory.product(title="Honey", page_id=page_id)
    await factory.product(title="Old stock", page_id=page_id, available=False)
    await factory.product(title="Elsewhere", page_id=other_page_id)
    await factory.product(title="Site-wide")

    found = await market.products_for_page(db, page_id)

    assert sorted(product.id for product in found) == sorted([jam.id, honey.id])
    assert {product.page_id for product in found} == {page_id}
    assert all(product.available for product in found)


async def test_products_for_no_page_are_the_site_level_shops(
    market: MarketService, factory: Factory, db: AsyncSession
) -> None:
    page_id = (await factory.page()).id
    site_wide = await factory.product(title="Site-wide")
    await factory.product(title="Site-wide, sold out", available=False)
    await factory.product(title="On a page", page_id=page_id)

    found = await market.products_for_page(db, None)

    assert [product.id for product in found] == [site_wide.id]
    assert found[0].page_id is None
