"""Once an order is paid, the cart lines it was made from leave the cart (soft delete)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.cart_item import CartItem
from shared.models import utcnow


async def clear_cart_for_order(session: AsyncSession, *, order_id: int) -> int:
    """Soft-delete the live lines stamped with the order; returns how many.

    Runs in the caller's transaction (the one that marks the order paid); does not commit.
    Lines the shopper added after checkout carry no order id and stay.
    """
    now = utcnow()
    result = await session.execute(
        update(CartItem)
        .where(CartItem.order_id == order_id, CartItem.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]
