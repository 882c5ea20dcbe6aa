"""cart and the shared tables it reads

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("slug", name=op.f("uq_posts_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["posts.id"], name=op.f("fk_calendars_page_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
    )
    op.create_index(op.f("ix_calendars_page_id"), "calendars", ["page_id"])

    op.create_table(
        "page_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("sumup_merchant_code", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("sumup_api_key_ref", sa.String(length=100), nullable=True),
        sa.Column("checkout_reference_prefix", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"], ["posts.id"], name=op.f("fk_page_configs_page_id_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_configs")),
        sa.UniqueConstraint("page_id", name=op.f("uq_page_configs_page_id")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_products_price_not_negative")),
        sa.ForeignKeyConstraint(["page_id"], ["posts.id"], name=op.f("fk_products_page_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("slug", name=op.f("uq_products_slug")),
    )
    op.create_index(op.f("ix_products_page_id"), "products", ["page_id"])

    op.create_table(
        "calendar_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("places >= 0", name=op.f("ck_calendar_slots_places_not_negative")),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_calendar_slots_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["calendar_id"], ["calendars.id"], name=op.f("fk_calendar_slots_calendar_id_calendars")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_slots")),
    )
    op.create_index(op.f("ix_calendar_slots_calendar_id"), "calendar_slots", ["calendar_id"])

    op.create_table(
        "cart_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_cart_items_quantity_positive")),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR session_id IS NOT NULL", name=op.f("ck_cart_items_has_owner")
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["posts.id"], name=op.f("fk_cart_items_page_id_posts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_cart_items_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cart_items_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_items")),
    )
    op.create_index(op.f("ix_cart_items_order_id"), "cart_items", ["order_id"])
    # One live line per owner, page and product (see models/cart_item.py); autogenerate
    # cannot see expression indexes, so they are written out here.
    for name, owner, where in (
        ("uq_cart_items_user_line", "user_id", "deleted_at IS NULL AND user_id IS NOT NULL"),
        ("uq_cart_items_session_line", "session_id", "deleted_at IS NULL AND user_id IS NULL"),
    ):
        op.create_index(
            name,
            "cart_items",
            [sa.text(owner), sa.text("coalesce(page_id, 0)"), sa.text("product_id")],
            unique=True,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )

    op.create_table(
        "calendar_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR session_id IS NOT NULL",
            name=op.f("ck_calendar_entries_has_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["calendar_slots.id"],
            name=op.f("fk_calendar_entries_slot_id_calendar_slots"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_entries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
    )
    op.create_index(op.f("ix_calendar_entries_order_id"), "calendar_entries", ["order_id"])
    op.create_index(
        "ix_calendar_entries_session_state", "calendar_entries", ["session_id", "state"]
    )
    op.create_index("ix_calendar_entries_slot_state", "calendar_entries", ["slot_id", "state"])
    op.create_index("ix_calendar_entries_user_state", "calendar_entries", ["user_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_calendar_entries_user_state", table_name="calendar_entries")
    op.drop_index("ix_calendar_entries_slot_state", table_name="calendar_entries")
    op.drop_index("ix_calendar_entries_session_state", table_name="calendar_entries")
    op.drop_index(op.f("ix_calendar_entries_order_id"), table_name="calendar_entries")

    op.drop_table("calendar_entries")
    op.drop_index("uq_cart_items_session_line", table_name="cart_items")
    op.drop_index("uq_cart_items_user_line", table_name="cart_items")
    op.drop_index(op.f("ix_cart_items_order_id"), table_name="cart_items")

    op.drop_table("cart_items")
    op.drop_index(op.f("ix_calendar_slots_calendar_id"), table_name="calendar_slots")

    op.drop_table("calendar_slots")
    op.drop_index(op.f("ix_products_page_id"), table_name="products")

    op.drop_table("products")
    op.drop_table("page_configs")
    op.drop_index(op.f("ix_calendars_page_id"), table_name="calendars")

    op.drop_table("calendars")
    op.drop_table("users")
    op.drop_table("posts")
