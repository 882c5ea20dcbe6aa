"""orders: refunded amount

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("refunded_minor", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_orders_refund_within_total"),
            "refunded_minor >= 0 AND refunded_minor <= total_minor",
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_refund_within_total"), type_="check")
        batch.drop_column("refunded_minor")
