"""The outbox table: events written with the change they describe, delivered afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utcnow


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_aggregate", "aggregate_id", "id"),
        # The dispatcher only ever looks at undelivered rows: a partial index keeps its scan
        # as small as the backlog, however many delivered events the table keeps.
        Index(
            "ix_outbox_events_undelivered",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the order of emission
    # Stable across redeliveries: subscribers use it to ignore a second delivery.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    # What the event is about (an order's public reference); events of one aggregate are
    # delivered in id order.
    aggregate_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # Delivery bookkeeping, written by the dispatcher only.
    # Claims so far; also the fencing token: a dispatcher records its outcome only if the
    # count is still the one it claimed with (a slower one whose lease ran out cannot).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # backoff
    # The lease of the dispatcher delivering it now; past it, the event is free again.
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set after too many failed attempts: held for an operator (and so are its order's later
    # events) until `manage.py events replay`.
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
