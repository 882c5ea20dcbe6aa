"""The alembic history and the models describe the same schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import CartItem
from shared.models import Base, utcnow
from tests.factories import Factory


def _diff(connection):  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # Alembic cannot compare expression indexes and says so; they are checked below.
        warnings.simplefilter("ignore")
        return compare_metadata(context, Base.metadata)


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == []


async def test_a_second_live_line_for_the_same_owner_page_and_product_is_refused(
    factory: Factory, db: AsyncSession
) -> None:
    page_id = (await factory.page()).id
    line = {"product_id": (await factory.product(page_id=page_id)).id, "page_id": page_id}
    await factory.cart_item(**line, session_id="s" * 20)
    with pytest.raises(IntegrityError):
        await factory.cart_item(**line, session_id="s" * 20)
    await db.rollback()
    # A soft-deleted line does not count: the product can be added again afterwards.
    await db.execute(update(CartItem).values(deleted_at=utcnow()))
    await factory.cart_item(**line, session_id="s" * 20)


async def test_site_level_lines_without_a_page_are_unique_too(
    factory: Factory, db: AsyncSession
) -> None:
    user = await factory.user()
    product = await factory.product()
    await factory.cart_item(product_id=product.id, user_id=user.id)
    with pytest.raises(IntegrityError):
        await factory.cart_item(product_id=product.id, user_id=user.id)
