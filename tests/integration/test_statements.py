"""Reads built once (shared/statements.py): on PostgreSQL they go to asyncpg itself, so these
check that what comes back, what they see and what counts them is as through SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from shared.models import Product
from shared.statements import fetch_all, fetch_first
from tests.conftest import QueryCounter
from tests.factories import Factory

_PRODUCTS = select(Product.id, Product.title, Product.price_minor, Product.available).where(
    Product.id.in_(bindparam("ids", expanding=True))
)
_QUANTITY = select(CartItem.quantity).where(CartItem.id == bindparam("line_id"))


async def test_rows_are_as_sqlalchemys_with_columns_as_attributes(
    db: AsyncSession, factory: Factory
) -> None:
    page_id = (await factory.page(slug="bakery", title="Bakery")).id
    bread = await factory.product(page_id=page_id, title="Bread", price_minor=250)
    jam = await factory.product(page_id=page_id, title="Jam", price_minor=400, available=False)

    rows = await fetch_all(db, _PRODUCTS, {"ids": [jam.id, bread.id]})
    expected = (await db.execute(_PRODUCTS, {"ids": [jam.id, bread.id]})).all()

    assert sorted(tuple(row) for row in map(_values, rows)) == sorted(map(tuple, expected))
    found = {row.id: (row.title, row.price_minor, row.available) for row in rows}
    assert found == {bread.id: ("Bread", 250, True), jam.id: ("Jam", 400, False)}
    assert await fetch_all(db, _PRODUCTS, {"ids": [999_999]}) == []
    assert await fetch_first(db, _PRODUCTS, {"ids": [999_999]}) is None


async def test_a_read_sees_what_the_requests_transaction_wrote_before_it(
    db: AsyncSession, factory: Factory
) -> None:
    page_id = (await factory.page(slug="bakery", title="Bakery")).id
    bread = await factory.product(page_id=page_id, title="Bread")
    line_id = (
        await factory.cart_item(product_id=bread.id, page_id=page_id, session_id="s" * 20)
    ).id

    await db.execute(
        update(CartItem)
        .where(CartItem.id == line_id)
        .values(quantity=7)
        .execution_options(synchronize_session=False)
    )
    seen_inside = await fetch_first(db, _QUANTITY, {"line_id": line_id})
    await db.rollback()
    seen_after = await fetch_first(db, _QUANTITY, {"line_id": line_id})

    assert (seen_inside.quantity, seen_after.quantity) == (7, 1)


async def test_statement_counters_see_each_read(
    db: AsyncSession, factory: Factory, query_counter: QueryCounter
) -> None:
    bread = await factory.product(title="Bread")
    query_counter.reset()
    await fetch_all(db, _PRODUCTS, {"ids": [bread.id]})
    await fetch_first(db, _PRODUCTS, {"ids": [bread.id]})
    assert query_counter.count == 2
    assert all("FROM products" in statement for statement in query_counter.statements)


def _values(row: object) -> tuple[object, ...]:
    """A row's values in column order, whichever driver gave it."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)  # type: ignore[arg-type]


async def test_a_write_is_in_the_sessions_transaction_unless_it_may_commit_alone(
    db: AsyncSession, factory: Factory
) -> None:
    """A write that is not a request's only one must be undone with the rest of the request
    (on PostgreSQL it then goes through SQLAlchemy, which begins the transaction)."""
    bread = await factory.product(title="Bread")
    line_id = (await factory.cart_item(product_id=bread.id, session_id="s" * 20)).id
    set_quantity = (
        update(CartItem)
        .where(CartItem.id == bindparam("line_id"))
        .values(quantity=bindparam("quantity"))
        .returning(CartItem.quantity)
    )

    written = await fetch_all(db, set_quantity, {"line_id": line_id, "quantity": 5})
    seen_inside = await fetch_first(db, _QUANTITY, {"line_id": line_id})
    await db.rollback()

    assert [row.quantity for row in written] == [5] and seen_inside.quantity == 5
    assert (await fetch_first(db, _QUANTITY, {"line_id": line_id})).quantity == 1
