"""The shopper's orders, newest first, a page at a time: three queries whatever the count.

One count, one page of orders (plain columns), and the pages they belong to in one call to
the blog service. A page number past the last page shows the last page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.orders.services.ownership import orders_of
from models.order import Order
from shared.interfaces import Owner, PageInfo
from shared.registry import services

PAGE_SIZE = 20


@dataclass(frozen=True)
class OrderSummary:
    public_ref: str
    number: str
    status: str
    created_at: datetime
    total_minor: int
    refunded_minor: int
    currency: str
    page_id: int | None  # None: the site's own shop
    page: PageInfo | None  # None: the site's shop, or a page that no longer exists
    needs_attention: bool


@dataclass(frozen=True)
class OrderList:
    orders: tuple[OrderSummary, ...]
    page: int  # the page shown (1 when there are no orders)
    page_count: int  # at least 1
    order_count: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.page_count


EMPTY = OrderList(orders=(), page=1, page_count=1, order_count=0)


async def list_orders(
    session: AsyncSession, *, owner: Owner | None, page: int, page_size: int = PAGE_SIZE
) -> OrderList:
    """Page `page` (1-based, >= 1) of the owner's orders; nobody's orders when owner is None."""
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    if owner is None:  # a visitor with no session yet has placed no order
        return EMPTY
    mine = orders_of(owner)
    order_count = int(
        await session.scalar(select(func.count()).select_from(Order).where(mine)) or 0
    )
    if order_count == 0:
        return EMPTY
    page_count = -(-order_count // page_size)
    page = min(page, page_count)
    rows = (
        await session.execute(
            select(
                Order.public_ref,
                Order.number,
                Order.status,
                Order.created_at,
                Order.total_minor,
                Order.refunded_minor,
                Order.currency,
                Order.page_id,
                Order.attention_reason,
            )
            .where(mine)
            # The id breaks ties between orders made in the same instant, so no order
            # shows on two pages or on none.
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    pages = await services.blog.pages_by_ids(
        session, {row.page_id for row in rows if row.page_id is not None}
    )
    return OrderList(
        orders=tuple(
            OrderSummary(
                public_ref=row.public_ref,
                number=row.number,
                status=row.status,
                created_at=_aware(row.created_at),
                total_minor=row.total_minor,
                refunded_minor=row.refunded_minor,
                currency=row.currency,
                page_id=row.page_id,
                page=pages.get(row.page_id) if row.page_id is not None else None,
                needs_attention=row.attention_reason is not None,
            )
            for row in rows
        ),
        page=page,
        page_count=page_count,
        order_count=order_count,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they are stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
