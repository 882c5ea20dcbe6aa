"""Events-owned tables: calendars, their bookable slots, and the entries (bookings)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, Timestamped


class EntryState(enum.StrEnum):
    PENDING = "pending"  # in a shopper's cart; holds no place
    ORDERED = "ordered"  # claimed by an order awaiting payment; holds a place
    CONFIRMED = "confirmed"  # paid; holds a place
    CANCELLED = "cancelled"


class Calendar(Timestamped, Base):
    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class CalendarSlot(Timestamped, Base):
    """A bookable time with a number of places."""

    __tablename__ = "calendar_slots"
    __table_args__ = (
        CheckConstraint("places >= 0", name="places_not_negative"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    places: Mapped[int] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))


class CalendarEntry(Timestamped, Base):
    """One shopper's booking of one place in a slot."""

    __tablename__ = "calendar_entries"
    __table_args__ = (
        CheckConstraint("user_id IS NOT NULL OR session_id IS NOT NULL", name="has_owner"),
        Index("ix_calendar_entries_slot_state", "slot_id", "state"),
        Index("ix_calendar_entries_user_state", "user_id", "state"),
        Index("ix_calendar_entries_session_state", "session_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("calendar_slots.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=EntryState.PENDING)
    # The cart's order that claimed it; a plain id because orders are another domain's.
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
