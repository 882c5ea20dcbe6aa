"""Statements on one owner's live cart lines, shared by the use cases that write them.

Writes that can race are single statements whose conditions the database checks: the
upsert below adds to a line only while the sum stays within the limit, so two concurrent
adds can never take a line past it, and never make a second live line (the partial unique
indexes of models/cart_item.py settle who inserts and who adds).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, select, update
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
from shared.statements import belongs_to, belongs_to_owner_param, fetch_all


@dataclass(frozen=True)
class LineQuantity:
    line_id: int
    quantity: int


def owned_by(owner: Owner) -> ColumnElement[bool]:
    """The owner's lines: a user's, or an anonymous session's that no user has taken."""
    return belongs_to(CartItem, user_id=owner.user_id, session_id=owner.session_id)


def live_lines_of(owner: Owner) -> ColumnElement[bool]:
    """Everything in the owner's cart: free lines and lines held by a pending order."""
    return _live(owned_by(owner))


def _live(owned: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(owned, CartItem.deleted_at.is_(None))


# Which of the owner's live lines: every page's, the site-level cart's, or one page's.
LineScope = Literal["all", "site", "page"]


@cache
def live_lines_query(*, signed_in: bool, scope: LineScope) -> Select[*tuple[Any, ...]]:
    """The owner's live lines, oldest first: what the cart pages show. Built once per
    variant (shared/statements.py); bind `owner_params` and, for one page, `page_id`."""
    query = select(
        CartItem.id, CartItem.product_id, CartItem.page_id, CartItem.quantity, CartItem.order_id
    ).where(_live(belongs_to_owner_param(CartItem, signed_in=signed_in)))
    if scope == "site":
        query = query.where(CartItem.page_id.is_(None))
    elif scope == "page":
        query = query.where(CartItem.page_id == bindparam("page_id"))
    return query.order_by(CartItem.created_at, CartItem.id)


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
    only_write: bool = False,
) -> LineQuantity | None:
    """Make the owner's free line for (page, product) or add `quantity` to it.

    `only_write`: the caller writes nothing else in this request (add-to-cart), so that on
    PostgreSQL this one statement may commit by itself (shared/statements.py's fetch_all).

    A line held by a pending order is never added to: what the shopper adds after checking
    out stays apart, so paying that order clears exactly what it holds.

    Returns the line and its new quantity, or None when the line exists and the sum would
    pass `max_quantity` (the line is then left as it was, and locked until commit).
    """
    dialect = session.get_bind().dialect.name
    rows = await fetch_all(
        session,
        _add_to_line_statement(dialect, signed_in=owner.signed_in),
        {
            "v_user_id": owner.user_id,
            "v_session_id": None if owner.signed_in else owner.session_id,
            "v_page_id": page_id,
            "v_product_id": product_id,
            "v_quantity": quantity,
            "v_now": utcnow(),
            "max_quantity": max_quantity,
        },
        may_commit_alone=only_write,
    )
    row = rows[0] if rows else None
    return LineQuantity(row.id, row.quantity) if row else None


@cache
def _add_to_line_statement(dialect: str, *, signed_in: bool) -> Any:
    """add_to_line's upsert, built once per database and kind of owner (its conflict target
    is the partial unique index of a user's or of a session's lines)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now: BindParameter[Any] = bindparam("v_now")
    statement = insert(CartItem).values(
        user_id=bindparam("v_user_id"),
        session_id=bindparam("v_session_id"),
        page_id=bindparam("v_page_id"),
        product_id=bindparam("v_product_id"),
        quantity=bindparam("v_quantity"),
        created_at=now,
        updated_at=now,
    )
    key, key_where = (
        (USER_LINE_KEY, USER_LINE_WHERE) if signed_in else (SESSION_LINE_KEY, SESSION_LINE_WHERE)
    )
    summed = CartItem.quantity + statement.excluded.quantity
    return statement.on_conflict_do_update(
        index_elements=list(key),
        index_where=key_where,
        set_={"quantity": summed, "updated_at": now},
        where=summed <= bindparam("max_quantity"),
    ).returning(CartItem.id, CartItem.quantity)


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
