"""A line of a shopper's cart: one product, a quantity, on one page's cart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, Timestamped

# A live line is one that is not soft-deleted. A live line stamped with an order is held by
# that pending order (checked out, waiting for its payment); the others are free. At most one
# free line per owner, page and product: adding the same product again adds to that line's
# quantity, and what is added after checking out stays apart from what the order holds.
# The page is folded with COALESCE because NULL (the site-level cart) is never equal to
# NULL in an index.
# The 0 is a literal, not a bound parameter: ON CONFLICT infers the index by comparing
# expressions, and `coalesce(page_id, $1)` does not match `coalesce(page_id, 0)`.
LIVE = text("deleted_at IS NULL")
PAGE_KEY = func.coalesce(text("page_id"), literal_column("0"))
USER_LINE_KEY = (text("user_id"), PAGE_KEY, text("product_id"))
SESSION_LINE_KEY = (text("session_id"), PAGE_KEY, text("product_id"))
USER_LINE_WHERE = text("deleted_at IS NULL AND user_id IS NOT NULL AND order_id IS NULL")
SESSION_LINE_WHERE = text("deleted_at IS NULL AND user_id IS NULL AND order_id IS NULL")


class CartItem(Timestamped, Base):
    __tablename__ = "cart_items"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("user_id IS NOT NULL OR session_id IS NOT NULL", name="has_owner"),
        Index(
            "uq_cart_items_user_line",
            *USER_LINE_KEY,
            unique=True,
            postgresql_where=USER_LINE_WHERE,
            sqlite_where=USER_LINE_WHERE,
        ),
        Index(
            "uq_cart_items_session_line",
            *SESSION_LINE_KEY,
            unique=True,
            postgresql_where=SESSION_LINE_WHERE,
            sqlite_where=SESSION_LINE_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one owner in practice: a signed-in user, else the anonymous session id.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    # Soft delete: a removed, adopted or paid-for line stays for the record.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The pending order holding this line (set at checkout): paying the order clears the line;
    # an order given up or expired hands it back to the cart (bp/cart/services/held_lines.py).
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
