"""Remove one of the shopper's own lines (a soft delete: the row stays for the record)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.errors import CartError
from bp.cart.services.lines import free_lines_of, refusal_for_line
from bp.cart.services.load import MISSING_PRODUCT_TITLE
from models.cart_item import CartItem
from shared.interfaces import Owner
from shared.models import utcnow
from shared.registry import services


async def remove_line(session: AsyncSession, *, owner: Owner | None, line_id: int) -> str:
    """One conditional UPDATE: only the owner's free line goes; else `line_unknown`.

    Returns the product's title, so that the shopper is told what went (one read, in the
    same transaction)."""
    if owner is None:
        raise CartError("line_unknown")
    now = utcnow()
    product_id = (
        await session.execute(
            update(CartItem)
            .where(CartItem.id == line_id, free_lines_of(owner))
            .values(deleted_at=now, updated_at=now)
            .returning(CartItem.product_id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if product_id is None:
        raise CartError(await refusal_for_line(session, owner=owner, line_id=line_id))
    product = await services.market.get_product(session, product_id)
    await session.commit()
    return product.title if product else MISSING_PRODUCT_TITLE
