"""Remove one of the shopper's own lines (a soft delete: the row stays for the record)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.errors import CartError
from bp.cart.services.lines import free_lines_of, refusal_for_line
from models.cart_item import CartItem
from shared.interfaces import Owner
from shared.models import utcnow


async def remove_line(session: AsyncSession, *, owner: Owner | None, line_id: int) -> None:
    """One conditional UPDATE: only the owner's free line goes; else `line_unknown`."""
    if owner is None:
        raise CartError("line_unknown")
    now = utcnow()
    removed = (
        await session.execute(
            update(CartItem)
            .where(CartItem.id == line_id, free_lines_of(owner))
            .values(deleted_at=now, updated_at=now)
            .returning(CartItem.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if removed is None:
        raise CartError(await refusal_for_line(session, owner=owner, line_id=line_id))
    await session.commit()
