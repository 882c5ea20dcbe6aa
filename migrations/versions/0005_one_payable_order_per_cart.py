"""one payable order per cart; lines held by an order apart from lines added since

A cart line stamped with a pending order (`order_id`) is held by that order; what the shopper
adds after checking out goes into a line of its own, so paying clears exactly what was
ordered. The unique "one live line per owner, page and product" indexes therefore cover only
the free lines (`order_id IS NULL`). And at most one pending order per shopper and cart
(owner and page): a partial unique index settles two checkouts racing for it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LINE_INDEXES = (
    ("uq_cart_items_user_line", "user_id", "deleted_at IS NULL AND user_id IS NOT NULL"),
    ("uq_cart_items_session_line", "session_id", "deleted_at IS NULL AND user_id IS NULL"),
)
_PENDING_ORDER_KEY = (
    sa.text("coalesce(user_id, 0)"),
    sa.text("coalesce(session_id, '')"),
    sa.text("coalesce(page_id, 0)"),
)
_PENDING = "status = 'pending'"


def _line_indexes(*, free_only: bool) -> None:
    for name, owner, where in _LINE_INDEXES:
        if free_only:
            where += " AND order_id IS NULL"
        op.create_index(
            name,
            "cart_items",
            [sa.text(owner), sa.text("coalesce(page_id, 0)"), sa.text("product_id")],
            unique=True,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def upgrade() -> None:
    for name, _, _ in _LINE_INDEXES:
        op.drop_index(name, table_name="cart_items")
    _line_indexes(free_only=True)
    # Before this revision nothing stopped a second pending order for one cart; a database
    # that has such pairs must have them settled (cancel the older) before it upgrades.
    op.create_index(
        "uq_orders_one_pending_per_cart",
        "orders",
        list(_PENDING_ORDER_KEY),
        unique=True,
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )


def downgrade() -> None:
    op.drop_index("uq_orders_one_pending_per_cart", table_name="orders")
    for name, _, _ in _LINE_INDEXES:
        op.drop_index(name, table_name="cart_items")
    _line_indexes(free_only=False)
