"""An order: a snapshot of one page's cart at checkout, and what became of its payment."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.models.base import Base, Timestamped

if TYPE_CHECKING:
    from models.payment_attempt import PaymentAttempt


class OrderStatus(enum.StrEnum):
    PENDING = "pending"  # made at checkout, waiting for its payment
    PAID = "paid"
    EXPIRED = "expired"  # never paid in time; its bookings went back to the cart
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


PENDING_WHERE = text("status = 'pending'")


class OrderItemKind(enum.StrEnum):
    PRODUCT = "product"
    BOOKING = "booking"


class Order(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("user_id IS NOT NULL OR session_id IS NOT NULL", name="has_owner"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= total_minor", name="refund_within_total"
        ),
        Index("ix_orders_user_created", "user_id", "created_at"),
        Index("ix_orders_session_created", "session_id", "created_at"),
        Index("ix_orders_status_created", "status", "created_at"),
        # At most one payable order per shopper and cart (owner and page): two checkouts
        # racing for it are settled here. An adopted order keeps its session_id, so it
        # never collides with the user's own at sign-in (the checkout refuses either way).
        Index(
            "uq_orders_one_pending_per_cart",
            func.coalesce(text("user_id"), literal_column("0")),
            func.coalesce(text("session_id"), literal_column("''")),
            func.coalesce(text("page_id"), literal_column("0")),
            unique=True,
            postgresql_where=PENDING_WHERE,
            sqlite_where=PENDING_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the shopper reads out on the phone ("7KQ4-MZ2P"); unique, not a secret.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    # What the order's URLs carry: unguessable, so a reference alone shows nothing to a
    # stranger (the owner check still applies).
    public_ref: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Integer)
    # The checkout form's one-time token: a double-click or a replay finds this order again.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Given back through SumUp so far (full or partial refunds); the order is `refunded`
    # once this reaches the total. The check constraint makes over-refunding impossible.
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Set when something needs a person: a paid amount that does not match, say.
    attention_reason: Mapped[str | None] = mapped_column(String(300))

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.id", lazy="raise"
    )
    payment_attempts: Mapped[list[PaymentAttempt]] = relationship(
        back_populates="order", order_by="PaymentAttempt.id", lazy="raise"
    )


class OrderItem(Base):
    """One line as it was at checkout: later catalogue changes never change it."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int | None] = mapped_column(Integer)
    calendar_entry_id: Mapped[int | None] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(300))
    unit_price_minor: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")
