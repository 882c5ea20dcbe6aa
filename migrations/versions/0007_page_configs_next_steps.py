"""page_configs.next_steps: what a shop tells its shoppers happens after an order

The return page and the order page say what happens next; for products that is the shop's
own text (collection, delivery), NULL for the site's default.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("page_configs") as batch:
        batch.add_column(sa.Column("next_steps", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("page_configs") as batch:
        batch.drop_column("next_steps")
