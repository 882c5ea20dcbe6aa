"""Checkout: one page's cart (or the site-level cart) becomes an order, all or nothing.

Load, then compute, then write. The cart is loaded as its page shows it (load.py and
totals.py: a fixed number of queries), checked against the fingerprint of what the shopper
saw, and copied into an `Order` with its `OrderItem`s. In the same transaction the cart
lines are stamped with the order, the bookings are claimed through services.calendar, and
`order.created` goes into the outbox; then one commit. Any refusal rolls everything back.
A free order (a total of 0: free bookings) is paid in that same transaction, without SumUp.

At most one payable order per shopper and cart: while an order from this cart (owner and
page) is pending, checking out again is refused with that order's number, and the cart
page offers to pay it or give it up (bp/order/services/give_up.py). Two checkouts racing
past that check are settled by the database: a partial unique index allows one pending
order per owner and page, and the lines and bookings one order holds are held by no other.

Bounded per shopper (HoldingLimits: CART_MAX_PLACES_PER_SLOT, CART_MAX_UNPAID_ORDERS): an
order waiting for payment holds its slots' places from everyone else, so one shopper (a
user, else an anonymous session) may hold at most so many places of one slot through
unpaid orders, and have at most so many unpaid orders across all pages' carts; beyond
either, the checkout is refused and nothing is written. A free order is paid at once and
holds nothing unpaid: neither limit applies to it. Once the cart is loaded and checked, one
shopper's checkouts take turns (on PostgreSQL a transaction-scoped advisory lock on the
shopper, the checkout's first lock; SQLite has one writer at a time), so that the unpaid
orders counted include every one committed before; the places are counted by the calendar's
claim, under the slots' locks.

Idempotent: the form's one-time key is the order's unique idempotency key, looked up first
and again once the shopper's turn has come. The order's INSERT is the transaction's first
write, so when two requests carry the same key (a double-click) the database makes the
second wait for the first and then refuse the duplicate; the second rolls back (losing
nothing) and answers with the first one's order.

Lock order, the same as every other writer's, so that none of them can deadlock with a
checkout: the shopper's turn (taken by checkouts only, first), the shopper's cart lines (in
id order), then slots and bookings (the calendar's claim), as adoption on sign-in takes
lines before bookings too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bp.cart.services.checkout_errors import CheckoutError
from bp.cart.services.checkout_form import CheckoutForm
from bp.cart.services.fingerprint import cart_fingerprint
from bp.cart.services.lines import free_lines_of
from bp.cart.services.load import load_cart
from bp.cart.services.order_events import order_facts
from bp.cart.services.order_numbers import new_order_number, new_public_ref
from bp.cart.services.paid_order import FREE, complete_paid_order
from bp.cart.services.pending_orders import pending_order_of
from bp.cart.services.slot_time import format_slot_time
from bp.cart.services.totals import PricedLine, Section, build_section, overview
from bp.orders.services.ownership import orders_of
from models.cart_item import CartItem
from models.order import Order, OrderItem, OrderItemKind, OrderStatus
from shared.config import Settings
from shared.events import emit_event
from shared.interfaces import BookingError, Owner, SlotSoldOut
from shared.interfaces.calendar import HoldingLimitReached
from shared.models import utcnow
from shared.registry import services

# Order.total_minor is a PostgreSQL integer.
MAX_TOTAL_MINOR = 2**31 - 1
# A number already taken makes the INSERT fail; another draw is tried (29**8 numbers).
NUMBER_DRAWS = 3
TITLE_LENGTH = 300  # OrderItem.title
DEFAULT_LOCALE = "en_GB"
DEFAULT_TIME_ZONE = ZoneInfo("Europe/London")  # SITE_TIME_ZONE's default
# pg_advisory_xact_lock(class, key): this class's keys are shoppers taking turns at checkout.
_CHECKOUT_LOCK_CLASS = 0x43415254  # "CART"


@dataclass(frozen=True)
class HoldingLimits:
    """What one shopper may hold without paying: places of one slot through unpaid orders
    (CART_MAX_PLACES_PER_SLOT), and unpaid orders across all carts (CART_MAX_UNPAID_ORDERS)."""

    places_per_slot: int = 4
    unpaid_orders: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> HoldingLimits:
        return cls(settings.max_places_per_slot, settings.max_unpaid_orders)


@dataclass(frozen=True)
class PlacedOrder:
    order: Order  # with its items loaded
    created: bool  # False: this form's key had made the order already (double-click, replay)


@dataclass(frozen=True)
class _Checked:
    """A section that may be ordered as it is: its lines to buy, one currency, one total."""

    section: Section
    product_lines: tuple[PricedLine, ...]
    currency: str
    total_minor: int


async def create_order_from_cart(
    session: AsyncSession,
    *,
    owner: Owner,
    page_id: int | None,
    idempotency_key: str,
    expected_fingerprint: str,
    locale: str = DEFAULT_LOCALE,
    time_zone: tzinfo = DEFAULT_TIME_ZONE,
    limits: HoldingLimits = HoldingLimits(),
) -> Order:
    """The order for the owner's cart of `page_id` (None: the site-level cart); commits.

    Raises CheckoutError (nothing written) for an empty cart, a cart that is not what the
    fingerprint says was shown, mixed currencies, a sold-out slot, a booking already in
    another order, or a shopper at one of the `limits`. The same key again gives the same
    order, not a second one.
    """
    placed = await place_order(
        session,
        owner=owner,
        page_id=page_id,
        idempotency_key=idempotency_key,
        expected_fingerprint=expected_fingerprint,
        locale=locale,
        time_zone=time_zone,
        limits=limits,
    )
    return placed.order


async def checkout_cart(
    session: AsyncSession,
    *,
    owner: Owner | None,
    page_slug: str | None,
    form: CheckoutForm,
    locale: str = DEFAULT_LOCALE,
    time_zone: tzinfo = DEFAULT_TIME_ZONE,
    limits: HoldingLimits = HoldingLimits(),
) -> PlacedOrder:
    """What the checkout routes call: the page named by its slug (None: the site's cart).

    `owner` None is a visitor who never added anything: there is nothing to order.
    """
    if owner is None:
        raise CheckoutError("cart_empty")
    page_id = None
    if page_slug is not None:
        page = await services.blog.page_by_slug(session, page_slug)
        if page is None:
            raise CheckoutError("page_unknown")
        page_id = page.id
    return await place_order(
        session,
        owner=owner,
        page_id=page_id,
        idempotency_key=form.idempotency_key,
        expected_fingerprint=form.fingerprint,
        locale=locale,
        time_zone=time_zone,
        limits=limits,
    )


async def place_order(
    session: AsyncSession,
    *,
    owner: Owner,
    page_id: int | None,
    idempotency_key: str,
    expected_fingerprint: str,
    locale: str = DEFAULT_LOCALE,
    time_zone: tzinfo = DEFAULT_TIME_ZONE,
    limits: HoldingLimits = HoldingLimits(),
) -> PlacedOrder:
    """create_order_from_cart(), also saying whether this call made the order."""
    existing = await _order_by_key(session, idempotency_key)
    if existing is not None:
        return PlacedOrder(_replayed(existing, owner=owner, page_id=page_id), created=False)

    for _ in range(NUMBER_DRAWS):
        await _refuse_if_pending(session, owner=owner, page_id=page_id)
        loaded = await load_cart(session, owner=owner)
        section = next((s for s in overview(loaded).sections if s.page_id == page_id), None)
        checked = _check(
            section or build_section(page_id, None, (), ()),
            expected_fingerprint=expected_fingerprint,
        )
        max_places = None
        if checked.total_minor > 0:  # a free order is paid at once: it holds nothing unpaid
            await _take_turn(session, owner)
            # What the shopper's checkouts that finished while this one waited made: the
            # same form's order (a double-click), this cart's order (another tab), or one
            # unpaid order too many.
            existing = await _order_by_key(session, idempotency_key)
            if existing is not None:
                await session.commit()  # nothing written; ends the turn
                return PlacedOrder(_replayed(existing, owner=owner, page_id=page_id), created=False)
            await _refuse_if_pending(session, owner=owner, page_id=page_id)
            await _refuse_if_too_many_unpaid(session, owner=owner, limits=limits)
            max_places = limits.places_per_slot
        order = _new_order(
            checked,
            owner=owner,
            idempotency_key=idempotency_key,
            locale=locale,
            time_zone=time_zone,
        )
        session.add(order)
        try:
            await session.flush()
        except IntegrityError:
            # The key is taken (a double-click whose first request has committed: answer
            # with its order), the cart has a pending order (another tab's checkout won:
            # refused, the next round says which) or the number is (draw again). The INSERT
            # was this transaction's first write, so rolling back loses nothing of ours.
            await session.rollback()
            winner = await _order_by_key(session, idempotency_key)
            if winner is not None:
                return PlacedOrder(_replayed(winner, owner=owner, page_id=page_id), created=False)
            continue
        await _hold_cart(
            session, owner=owner, order_id=order.id, checked=checked, max_places=max_places
        )
        emit_event(session, "order.created", _created_payload(order), aggregate_id=order.public_ref)
        if checked.total_minor == 0:
            await _complete_free_order(session, order)
        await session.commit()
        return PlacedOrder(order, created=True)
    raise RuntimeError(f"no free order number after {NUMBER_DRAWS} draws")


async def _refuse_if_pending(session: AsyncSession, *, owner: Owner, page_id: int | None) -> None:
    pending = await pending_order_of(session, owner=owner, page_id=page_id)
    if pending is not None:
        await session.rollback()
        raise CheckoutError("order_pending", number=pending.number)


async def _take_turn(session: AsyncSession, owner: Owner) -> None:
    """Wait until no other checkout of this shopper is in progress (until this transaction
    ends). Nothing on SQLite, where one transaction writes at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    who = f"user:{owner.user_id}" if owner.user_id is not None else f"session:{owner.session_id}"
    key = int.from_bytes(hashlib.blake2b(who.encode(), digest_size=4).digest(), signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(_CHECKOUT_LOCK_CLASS, key)))


async def _refuse_if_too_many_unpaid(
    session: AsyncSession, *, owner: Owner, limits: HoldingLimits
) -> None:
    """CheckoutError when the shopper has as many unpaid orders (on all pages) as allowed."""
    unpaid = list(
        await session.scalars(
            select(Order.number)
            .where(orders_of(owner), Order.status == OrderStatus.PENDING)
            .order_by(Order.created_at, Order.id)
        )
    )
    if len(unpaid) >= limits.unpaid_orders:
        await session.rollback()
        raise CheckoutError("unpaid_orders_limit", count=len(unpaid), numbers=", ".join(unpaid))


async def _order_by_key(session: AsyncSession, idempotency_key: str) -> Order | None:
    return await session.scalar(
        select(Order)
        .where(Order.idempotency_key == idempotency_key)
        .options(selectinload(Order.items))
        .execution_options(populate_existing=True)
    )


def _replayed(order: Order, *, owner: Owner, page_id: int | None) -> Order:
    """The order this form made, if the same shopper sends it for the same cart."""
    if order.page_id != page_id or not _belongs_to(order, owner):
        # Keys are random and only ever in the shopper's own page: another shopper's key
        # is a forgery or a leak, and shows nothing of that order.
        raise CheckoutError("form_expired")
    return order


def _belongs_to(order: Order, owner: Owner) -> bool:
    if owner.user_id is not None:
        return order.user_id == owner.user_id
    return order.user_id is None and order.session_id == owner.session_id


def _check(section: Section, *, expected_fingerprint: str) -> _Checked:
    """The section as it may be ordered, or the CheckoutError that says why not."""
    buyable = tuple(priced for priced in section.product_lines if priced.total_minor is not None)
    if not buyable and not section.booking_lines:
        raise CheckoutError("cart_empty")
    if cart_fingerprint(section) != expected_fingerprint:
        gone = [priced.line.title for priced in section.product_lines if priced.total_minor is None]
        if gone:
            raise CheckoutError("product_unavailable", titles=", ".join(gone))
        raise CheckoutError("cart_changed")
    if len(section.totals) != 1:
        raise CheckoutError("currencies_mixed", currencies=" and ".join(section.totals))
    [(currency, total_minor)] = section.totals.items()
    if total_minor > MAX_TOTAL_MINOR:
        raise CheckoutError("total_too_large")
    return _Checked(
        section=section, product_lines=buyable, currency=currency, total_minor=total_minor
    )


def _new_order(
    checked: _Checked, *, owner: Owner, idempotency_key: str, locale: str, time_zone: tzinfo
) -> Order:
    items = [
        OrderItem(
            kind=OrderItemKind.PRODUCT,
            product_id=priced.line.product_id,
            title=priced.line.title[:TITLE_LENGTH],
            unit_price_minor=priced.line.unit_price_minor,
            quantity=priced.line.quantity,
            line_total_minor=priced.total_minor,
            currency=priced.line.currency,
        )
        for priced in checked.product_lines
    ]
    items += [
        OrderItem(
            kind=OrderItemKind.BOOKING,
            calendar_entry_id=booking.entry_id,
            # The slot's time is part of what was bought: the copy keeps it, as the shopper
            # read it (the site's time zone, named).
            title=(
                f"{booking.title}, "
                + format_slot_time(
                    booking.starts_at, booking.ends_at, locale=locale, time_zone=time_zone
                )
            )[:TITLE_LENGTH],
            unit_price_minor=booking.price_minor,
            quantity=1,
            line_total_minor=booking.price_minor,
            currency=booking.currency,
        )
        for booking in checked.section.booking_lines
    ]
    return Order(
        number=new_order_number(),
        public_ref=new_public_ref(),
        user_id=owner.user_id,
        session_id=None if owner.user_id is not None else owner.session_id,
        page_id=checked.section.page_id,
        status=OrderStatus.PENDING,
        currency=checked.currency,
        total_minor=checked.total_minor,
        idempotency_key=idempotency_key,
        items=items,
    )


async def _hold_cart(
    session: AsyncSession,
    *,
    owner: Owner,
    order_id: int,
    checked: _Checked,
    max_places: int | None,
) -> None:
    """Stamp the lines with the order, then claim the bookings; refusals roll back."""
    seen = [(priced.line.line_id, priced.line.quantity) for priced in checked.product_lines]
    if seen and await _stamp_lines(session, owner=owner, order_id=order_id, seen=seen) != len(seen):
        # A line was removed or its quantity changed since the cart was loaded.
        await session.rollback()
        raise CheckoutError("cart_changed")

    bookings = {booking.entry_id: booking.title for booking in checked.section.booking_lines}
    try:
        await services.calendar.claim_entries_for_order(
            session, owner, list(bookings), order_id, max_places=max_places
        )
    except SlotSoldOut as sold_out:
        await session.rollback()
        raise CheckoutError("slot_sold_out", slot=sold_out.slot_title) from None
    except HoldingLimitReached as over:
        await session.rollback()
        raise CheckoutError("places_limit", slot=over.slot_title, limit=over.limit) from None
    except BookingError as taken:
        await session.rollback()
        slot = bookings.get(taken.entry_id or 0, "a slot")
        raise CheckoutError("booking_taken", slot=slot) from None


async def _stamp_lines(
    session: AsyncSession, *, owner: Owner, order_id: int, seen: Sequence[tuple[int, int]]
) -> int:
    """Set order_id on the owner's free lines that still hold the quantities seen; how many.

    A line another checkout holds already is not free: two tabs checking out one cart
    cannot both take it."""
    still_as_seen = (free_lines_of(owner), tuple_(CartItem.id, CartItem.quantity).in_(seen))
    locked_in_id_order = (
        select(CartItem.id).where(*still_as_seen).order_by(CartItem.id).with_for_update()
    )
    result = await session.execute(
        update(CartItem)
        .where(CartItem.id.in_(locked_in_id_order), *still_as_seen)
        .values(order_id=order_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


async def _complete_free_order(session: AsyncSession, order: Order) -> None:
    """Nothing to pay (free bookings): paid at once, in the transaction that made it.

    SumUp refuses a checkout of 0, and there is nothing to wait for; the order was inserted
    by this transaction, so nobody else can have changed it.
    """
    now = utcnow()
    order.status = OrderStatus.PAID
    order.paid_at = now
    await session.flush()
    facts = await order_facts(session, order.id)
    assert facts is not None
    await complete_paid_order(session, order=facts, paid_at=now, payment=FREE)


def _created_payload(order: Order) -> dict[str, object]:
    """What other services learn of a new order: nothing that identifies a browser."""
    return {
        "order_ref": order.public_ref,
        "number": order.number,
        "page_id": order.page_id,
        "user_id": order.user_id,
        # The core every order.* event has (order_events.py), then the order's lines.
        "status": order.status,
        "occurred_at": order.created_at.isoformat(),
        "currency": order.currency,
        "total_minor": order.total_minor,
        "items": [
            {
                "kind": item.kind,
                "product_id": item.product_id,
                "calendar_entry_id": item.calendar_entry_id,
                "title": item.title,
                "quantity": item.quantity,
                "unit_price_minor": item.unit_price_minor,
                "line_total_minor": item.line_total_minor,
                "currency": item.currency,
            }
            for item in order.items
        ],
    }
