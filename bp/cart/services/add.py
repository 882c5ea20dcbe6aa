"""Add a product to the shopper's cart: one upsert, the limit checked by the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.errors import CartError
from bp.cart.services.lines import add_to_line, live_quantity
from shared.interfaces import Owner, PageInfo
from shared.registry import services


@dataclass(frozen=True)
class Added:
    line_id: int
    product_title: str
    added: int
    quantity_now: int
    page: PageInfo | None  # None: the site-level cart


async def add_product(
    session: AsyncSession,
    *,
    owner: Owner,
    product_id: int,
    quantity: int,
    max_quantity: int,
) -> Added:
    """Put `quantity` of the product on the cart of the product's page, and commit.

    Refuses (CartError, nothing changed) an unknown or unavailable product, and a sum that
    would pass `max_quantity`: the shopper is told rather than silently given fewer.
    """
    if not 1 <= quantity <= max_quantity:
        raise CartError("quantity_invalid", max_quantity=max_quantity)
    product = await services.market.get_product(session, product_id)
    if product is None:
        raise CartError("product_unknown")
    if not product.available:
        raise CartError("product_unavailable", title=product.title)

    line = await add_to_line(
        session,
        owner=owner,
        page_id=product.page_id,
        product_id=product.id,
        quantity=quantity,
        max_quantity=max_quantity,
        only_write=True,  # the one write of an add: one statement, its own transaction
    )
    if line is None:
        current = await live_quantity(
            session, owner=owner, page_id=product.page_id, product_id=product.id
        )
        await session.rollback()
        raise CartError(
            "quantity_too_large", title=product.title, max_quantity=max_quantity, current=current
        )
    page = (
        await services.blog.page_by_id(session, product.page_id)
        if product.page_id is not None
        else None
    )
    await session.commit()
    return Added(
        line_id=line.line_id,
        product_title=product.title,
        added=quantity,
        quantity_now=line.quantity,
        page=page,
    )
