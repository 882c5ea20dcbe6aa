"""Set the quantity of one of the shopper's own lines."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.errors import CartError
from bp.cart.services.lines import LineQuantity, free_lines_of, refusal_for_line
from models.cart_item import CartItem
from shared.interfaces import Owner
from shared.models import utcnow


async def change_quantity(
    session: AsyncSession,
    *,
    owner: Owner | None,
    line_id: int,
    quantity: int,
    max_quantity: int,
) -> LineQuantity:
    """One conditional UPDATE: only the owner's free line changes; else `line_unknown`."""
    if not 1 <= quantity <= max_quantity:
        raise CartError("quantity_invalid", max_quantity=max_quantity)
    if owner is None:  # an anonymous visitor with no cart owns no line
        raise CartError("line_unknown")
    row = (
        await session.execute(
            update(CartItem)
            .where(CartItem.id == line_id, free_lines_of(owner))
            .values(quantity=quantity, updated_at=utcnow())
            .returning(CartItem.id, CartItem.quantity)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if row is None:
        raise CartError(await refusal_for_line(session, owner=owner, line_id=line_id))
    await session.commit()
    return LineQuantity(row.id, row.quantity)
