"""The outbox table: events written with the change they describe, delivered afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utcnow


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_aggregate", "aggregate_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # the order of emission
    # Stable across redeliveries: subscribers use it to ignore a second delivery.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    # What the event is about (an order's public reference); events of one aggregate are
    # delivered in id order.
    aggregate_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
