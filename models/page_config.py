"""A page's own shop settings: which SumUp merchant account its checkouts pay, and what it
tells a shopper happens after an order of its products."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, Timestamped


class PageConfig(Timestamped, Base):
    __tablename__ = "page_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), unique=True)
    # Each NULL falls back to the site's SumUp settings.
    sumup_merchant_code: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(3))
    # The NAME of the secret holding the API key (an environment variable or a key of the
    # secrets file), never the key itself: this row is readable by all five services.
    sumup_api_key_ref: Mapped[str | None] = mapped_column(String(100))
    checkout_reference_prefix: Mapped[str | None] = mapped_column(String(20))
    # "What happens next" after an order of the page's products (collection, delivery), as
    # the return page and the order page say it: plain text, a blank line between
    # paragraphs. NULL: the site's default text (bp/order/services/next_steps.py).
    next_steps: Mapped[str | None] = mapped_column(Text)
