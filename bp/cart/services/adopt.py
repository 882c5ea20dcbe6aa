"""Signing in adopts the anonymous cart and bookings into the user's.

Race-safe by construction: the anonymous free lines are claimed with ONE conditional UPDATE
(`... WHERE deleted_at IS NULL RETURNING`). Two requests racing on the same session both
run it; PostgreSQL makes the second wait for the first's row locks and then re-checks the
condition, so it claims nothing. Only the claimer upserts into the user's cart, inside the
same transaction: an item is merged exactly once, or (on rollback) not claimed at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.lines import add_to_line, set_line_quantity
from bp.orders.services.adopt_orders import adopt_session_orders
from models.cart_item import CartItem
from shared.interfaces import Owner
from shared.models import utcnow
from shared.registry import services


@dataclass(frozen=True)
class MergedLine:
    product_id: int
    title: str
    added: int
    quantity_now: int
    capped: bool  # the sum passed the limit; the line holds max_quantity


@dataclass(frozen=True)
class Adoption:
    lines: tuple[MergedLine, ...]
    bookings_moved: int
    max_quantity: int
    orders_moved: int = 0

    @property
    def nothing(self) -> bool:
        return not self.lines and not self.bookings_moved and not self.orders_moved


async def adopt_anonymous_cart(
    session: AsyncSession,
    *,
    session_id: str,
    user_id: int,
    max_quantity: int,
    now: datetime | None = None,
) -> Adoption:
    """Move the anonymous session's lines, pending bookings, pending orders and recent orders
    (adopt_orders.py) to the user; commit."""
    now = now or utcnow()
    # Orders first: a payment being recorded locks its order, then the cart lines it
    # clears; taking them in the same order here means the two wait rather than deadlock.
    orders_moved = await adopt_session_orders(
        session, session_id=session_id, user_id=user_id, now=now
    )
    # Lines held by a pending order move as they are, still held by it: paying that order
    # clears exactly them, whoever is signed in then.
    await session.execute(
        update(CartItem)
        .where(
            CartItem.session_id == session_id,
            CartItem.user_id.is_(None),
            CartItem.deleted_at.is_(None),
            CartItem.order_id.is_not(None),
        )
        .values(user_id=user_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed = (
        await session.execute(
            update(CartItem)
            .where(
                CartItem.session_id == session_id,
                CartItem.user_id.is_(None),
                CartItem.deleted_at.is_(None),
                CartItem.order_id.is_(None),
            )
            .values(deleted_at=now, updated_at=now)
            .returning(CartItem.page_id, CartItem.product_id, CartItem.quantity)
            .execution_options(synchronize_session=False)
        )
    ).all()
    user = Owner(user_id=user_id)
    merged: list[tuple[int, int, int, bool]] = []
    # The same order in every request, so two adoptions into one user lock lines alike
    # and cannot deadlock.
    for row in sorted(claimed, key=lambda r: (r.page_id or 0, r.product_id)):
        line = await add_to_line(
            session,
            owner=user,
            page_id=row.page_id,
            product_id=row.product_id,
            quantity=row.quantity,
            max_quantity=max_quantity,
        )
        capped = line is None
        if line is None:
            # The sum passed the limit. The upsert left the user's line locked until
            # commit, so it is still there to be filled to the limit.
            line = await set_line_quantity(
                session,
                owner=user,
                page_id=row.page_id,
                product_id=row.product_id,
                quantity=max_quantity,
            )
            if line is None:
                raise RuntimeError("the user's cart line vanished while locked")
        merged.append((row.product_id, row.quantity, line.quantity, capped))

    bookings_moved = await services.calendar.adopt_session_entries(
        session, session_id=session_id, user_id=user_id
    )
    products = await services.market.get_products(session, {m[0] for m in merged})
    await session.commit()
    return Adoption(
        lines=tuple(
            MergedLine(
                product_id=product_id,
                title=products[product_id].title if product_id in products else "a product",
                added=added,
                quantity_now=quantity_now,
                capped=capped,
            )
            for product_id, added, quantity_now, capped in merged
        ),
        bookings_moved=bookings_moved,
        max_quantity=max_quantity,
        orders_moved=orders_moved,
    )


def describe(adoption: Adoption) -> str | None:
    """What the shopper is told after signing in; None when there was nothing to adopt."""
    if adoption.nothing:
        return None
    parts = []
    if adoption.lines:
        count = sum(line.added for line in adoption.lines)
        items = ", ".join(f"{line.title} ×{line.quantity_now} now" for line in adoption.lines)
        lead = (
            "1 item from before you signed in was added"
            if count == 1
            else f"{count} items from before you signed in were added"
        )
        parts.append(f"{lead} to your cart: {items}.")
    capped = [line.title for line in adoption.lines if line.capped]
    if capped:
        parts.append(
            f"{', '.join(capped)}: a cart holds at most {adoption.max_quantity} of one "
            "product, so we kept that many."
        )
    if adoption.bookings_moved:
        bookings = (
            "1 booking" if adoption.bookings_moved == 1 else (f"{adoption.bookings_moved} bookings")
        )
        parts.append(
            f"{bookings} moved to your cart too."
            if adoption.lines
            else f"{bookings} from before you signed in moved to your cart."
        )
    if adoption.orders_moved:
        orders = "1 order" if adoption.orders_moved == 1 else f"{adoption.orders_moved} orders"
        verb = "is" if adoption.orders_moved == 1 else "are"
        parts.append(f"{orders} from before you signed in {verb} now in Your orders.")
    return " ".join(parts)


def describe_given_up(numbers: list[str]) -> str | None:
    """What the shopper is told of their older orders given up at sign-in (one per cart)."""
    if not numbers:
        return None
    orders = f"order {numbers[0]}" if len(numbers) == 1 else "orders " + ", ".join(numbers)
    return (
        f"You had {orders} waiting for payment already for the same cart, so it was given up "
        "(nothing was charged) and its items are back in your cart: one order to pay per cart."
    )
