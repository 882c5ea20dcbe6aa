"""One SumUp checkout made for an order; an order may have several (pay again)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.order import Order
from shared.models.base import Base, Timestamped


class AttemptStatus(enum.StrEnum):
    CREATING = "CREATING"  # recorded before SumUp answered; its reference finds it later
    PENDING = "PENDING"
    PAID = "PAID"
    FAILED = "FAILED"  # the last try failed; SumUp lets it be paid still
    EXPIRED = "EXPIRED"


class PaymentAttempt(Timestamped, Base):
    __tablename__ = "payment_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # Ours, sent to SumUp and unique per merchant; it finds the checkout when an answer is lost.
    checkout_reference: Mapped[str] = mapped_column(String(64), unique=True)
    # SumUp's id, known once SumUp has answered the create call.
    sumup_checkout_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.CREATING)
    merchant_code: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    hosted_checkout_url: Mapped[str | None] = mapped_column(String(500))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    transaction_code: Mapped[str | None] = mapped_column(String(64))
    # When SumUp first said FAILED (a declined payment). The status moves on (closing a
    # FAILED checkout makes it EXPIRED); what happened to the attempt is kept here.
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    order: Mapped[Order] = relationship(back_populates="payment_attempts", lazy="raise")
