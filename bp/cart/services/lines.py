"""Statements on one owner's live cart lines, shared by the use cases that write them.

Writes that can race are single statements whose conditions the database checks: the
upsert below adds to a line only while the sum stays within the limit, so two concurrent
adds can never take a line past it, and never make a second live line (the partial unique
indexes of models/cart_item.py settle who inserts and who adds).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models.cart_item import (
    SESSION_LINE_KEY,
    SESSION_LINE_WHERE,
    USER_LINE_KEY,
    USER_LINE_WHERE,
    CartItem,
)
from shared.interfaces import Owner
from shared.models import utcnow


@dataclass(frozen=True)
class LineQuantity:
    line_id: int
    quantity: int


def owned_by(owner: Owner) -> ColumnElement[bool]:
    """The owner's lines: a user's, or an anonymous session's that no user has taken."""
    if owner.user_id is not None:
        return CartItem.user_id == owner.user_id
    return and_(CartItem.session_id == owner.session_id, CartItem.user_id.is_(None))


def live_lines_of(owner: Owner) -> ColumnElement[bool]:
    """Everything in the owner's cart: free lines and lines held by a pending order."""
    return and_(owned_by(owner), CartItem.deleted_at.is_(None))


def free_lines_of(owner: Owner) -> ColumnElement[bool]:
    """The lines the shopper can change and check out: live, held by no order."""
    return and_(live_lines_of(owner), CartItem.order_id.is_(None))


def on_page(page_id: int | None) -> ColumnElement[bool]:
    return CartItem.page_id.is_(None) if page_id is None else CartItem.page_id == page_id


async def add_to_line(
    session: AsyncSession,
    *,
    owner: Owner,
    page_id: int | None,
    product_id: int,
    quantity: int,
    max_quantity: int,
) -> LineQuantity | None:
    """Make the owner's free line for (page, product) or add `quantity` to it.

    A line held by a pending order is never added to: what the shopper adds after checking
    out stays apart, so paying that order clears exactly what it holds.

    Returns the line and its new quantity, or None when the line exists and the sum would
    pass `max_quantity` (the line is then left as it was, and locked until commit).
    """
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(CartItem).values(
        user_id=owner.user_id,
        session_id=None if owner.user_id is not None else owner.session_id,
        page_id=page_id,
        product_id=product_id,
        quantity=quantity,
        created_at=now,
        updated_at=now,
    )
    key, key_where = (
        (USER_LINE_KEY, USER_LINE_WHERE)
        if owner.user_id is not None
        else (SESSION_LINE_KEY, SESSION_LINE_WHERE)
    )
    summed = CartItem.quantity + statement.excluded.quantity
    upsert = statement.on_conflict_do_update(
        index_elements=list(key),
        index_where=key_where,
        set_={"quantity": summed, "updated_at": now},
        where=summed <= max_quantity,
    ).returning(CartItem.id, CartItem.quantity)
    row = (await session.execute(upsert)).one_or_none()
    return LineQuantity(row.id, row.quantity) if row else None


async def set_line_quantity(
    session: AsyncSession,
    *,
    owner: Owner,
    page_id: int | None,
    product_id: int,
    quantity: int,
) -> LineQuantity | None:
    """Set the quantity of the owner's free line for (page, product), if there is one."""
    row = (
        await session.execute(
            update(CartItem)
            .where(free_lines_of(owner), on_page(page_id), CartItem.product_id == product_id)
            .values(quantity=quantity, updated_at=utcnow())
            .returning(CartItem.id, CartItem.quantity)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    return LineQuantity(row.id, row.quantity) if row else None


async def live_quantity(
    session: AsyncSession, *, owner: Owner, page_id: int | None, product_id: int
) -> int:
    """How many of the product the owner's free line on the page holds now (0: no line)."""
    value = await session.scalar(
        select(CartItem.quantity).where(
            free_lines_of(owner), on_page(page_id), CartItem.product_id == product_id
        )
    )
    return value or 0


async def refusal_for_line(session: AsyncSession, *, owner: Owner, line_id: int) -> str:
    """Why the owner cannot change line `line_id`: held by a pending order, or not theirs."""
    held = await session.scalar(
        select(CartItem.id).where(
            CartItem.id == line_id, live_lines_of(owner), CartItem.order_id.is_not(None)
        )
    )
    return "line_unknown" if held is None else "line_held"
