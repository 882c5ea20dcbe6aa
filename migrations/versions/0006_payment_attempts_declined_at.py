"""payment_attempts.declined_at: a declined payment stays declined in the history

SumUp's status of a checkout moves on (a FAILED checkout that is closed reads EXPIRED), but
what happened to the attempt is what the shopper and the shop need to see.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment_attempts") as batch:
        batch.add_column(sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True))
    # Attempts declined before this revision and still FAILED are known to be declined.
    op.execute("UPDATE payment_attempts SET declined_at = updated_at WHERE status = 'FAILED'")


def downgrade() -> None:
    with op.batch_alter_table("payment_attempts") as batch:
        batch.drop_column("declined_at")
