"""Market-owned table: the products shoppers put in carts."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, Timestamped


class Product(Timestamped, Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("price_minor >= 0", name="price_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # The page whose shop sells it; NULL for the site-level shop.
    page_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
