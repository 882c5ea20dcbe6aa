"""One order as its page shows it: lines, bookings, payment attempts, what the shopper may do.

Read only: the page shows what is recorded; "Check payment status" (check_payment.py) is
what asks SumUp. A fixed number of queries: the order with its lines, its attempts, its
bookings (calendar service), its page (blog service), and its shop's "what happens next"
text when it has products (next_steps.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.payment import owned_order
from bp.order.services.next_steps import NextSteps, next_steps_for
from bp.orders.services.status_words import attempt_words
from models.order import Order, OrderItemKind, OrderStatus
from models.payment_attempt import AttemptStatus, PaymentAttempt
from shared.interfaces import EntryInfo, Owner, PageInfo
from shared.registry import services

# The latest attempt in these states leaves an unpaid order payable by a new checkout (the
# return page offers the same): it failed, timed out, or never reached SumUp.
_PAYABLE_AGAIN_AFTER = (AttemptStatus.FAILED, AttemptStatus.EXPIRED, AttemptStatus.CREATING)
# Orders whose payment may still change at SumUp: worth asking about (a late payment of an
# expired order is honoured).
_CHECKABLE = (OrderStatus.PENDING, OrderStatus.EXPIRED)


@dataclass(frozen=True)
class AttemptLine:
    number: int  # 1 for the order's first checkout
    status: str  # SumUp's word as last recorded: PENDING, PAID, FAILED, EXPIRED, CREATING
    amount_minor: int
    currency: str
    created_at: datetime
    transaction_code: str | None  # SumUp's receipt code, once paid
    declined: bool = False  # SumUp said FAILED at some point: it stays declined

    @property
    def words(self) -> str:
        """What happened to it, in the shopper's words."""
        return attempt_words(self.status, declined=self.declined)


@dataclass(frozen=True)
class OrderView:
    order: Order  # with its items (the lines as they were at checkout)
    page: PageInfo | None
    bookings: tuple[EntryInfo, ...]  # the places the order holds now
    released_bookings: tuple[str, ...]  # titles of booked lines it holds no more
    attempts: tuple[AttemptLine, ...]  # oldest first
    may_pay_again: bool
    may_check: bool
    # What happens next: once paid, or after paying (None: the order is closed).
    next_steps: NextSteps | None = None


async def load_order_view(
    session: AsyncSession, *, owner: Owner | None, public_ref: str
) -> OrderView | None:
    """The owner's order; None when there is none of theirs with that reference."""
    order = await owned_order(session, owner=owner, public_ref=public_ref, with_items=True)
    if order is None:
        return None
    attempts = list(
        await session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.order_id == order.id)
            .order_by(PaymentAttempt.id)
            .execution_options(populate_existing=True)
        )
    )
    bookings = await services.calendar.entries_for_order(session, order.id)
    page = None
    if order.page_id is not None:
        page = await services.blog.page_by_id(session, order.page_id)
    held = {entry.id for entry in bookings}
    next_steps = None
    # Not while the shop checks a payment by hand: the page says they will be in touch.
    if order.status == OrderStatus.PAID or (
        order.status == OrderStatus.PENDING and order.attention_reason is None
    ):
        next_steps = await next_steps_for(session, order, page=page, bookings=bookings)
    latest = attempts[-1] if attempts else None
    return OrderView(
        order=order,
        page=page,
        bookings=tuple(bookings),
        # An expired or cancelled order gave its places back to the shopper's cart.
        released_bookings=tuple(
            item.title
            for item in order.items
            if item.kind == OrderItemKind.BOOKING and item.calendar_entry_id not in held
        ),
        attempts=tuple(
            AttemptLine(
                number=number,
                status=attempt.status,
                amount_minor=attempt.amount_minor,
                currency=attempt.currency,
                created_at=_aware(attempt.created_at),
                transaction_code=attempt.transaction_code,
                declined=attempt.declined_at is not None,
            )
            for number, attempt in enumerate(attempts, start=1)
        ),
        may_pay_again=(
            order.status == OrderStatus.PENDING
            and order.attention_reason is None
            and (latest is None or latest.status in _PAYABLE_AGAIN_AFTER)
        ),
        may_check=order.status in _CHECKABLE
        and any(attempt.sumup_checkout_id for attempt in attempts),
        next_steps=next_steps,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they are stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
