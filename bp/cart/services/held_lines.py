"""The cart lines a pending order holds, when the order stops being payable.

Checkout stamps the lines it orders with the order (checkout.py); while the order waits for
its payment those lines are held: the shopper cannot change them, and what they add
meanwhile goes into free lines of its own. When the order ends:

- paid: its held lines leave the cart (clear_cart_for_order.py), nothing else;
- given up, cancelled or expired: its held lines go back to the cart (`release_held_lines`),
  each merged into the free line of the same product if the shopper added more since;
- paid after all, once expired: what it held is taken out of the cart again
  (`plan_take_back`, `take_back`), or, if the cart no longer has it, the payment is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.lines import add_to_line, free_lines_of, on_page
from models.cart_item import CartItem
from models.order import OrderItem, OrderItemKind
from shared.interfaces import Owner
from shared.models import utcnow

# Handing lines back never loses what the shopper had: a merged line may pass the cart's
# quantity limit, which then stops only what they add next.
NO_LIMIT = 2**31 - 1


async def release_held_lines(session: AsyncSession, *, order_id: int) -> int:
    """Hand the order's held lines back to the cart as free lines; how many. No commit."""
    now = utcnow()
    held = (
        await session.execute(
            update(CartItem)
            .where(CartItem.order_id == order_id, CartItem.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
            .returning(
                CartItem.user_id,
                CartItem.session_id,
                CartItem.page_id,
                CartItem.product_id,
                CartItem.quantity,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    # In one order of products, as adoption does, so that two writers lock lines alike.
    for line in sorted(held, key=lambda r: (r.page_id or 0, r.product_id)):
        # One upsert: a free line added meanwhile (even by a request racing this one) takes
        # the quantity; otherwise the line is made anew, free.
        await add_to_line(
            session,
            owner=Owner(user_id=line.user_id, session_id=line.session_id),
            page_id=line.page_id,
            product_id=line.product_id,
            quantity=line.quantity,
            max_quantity=NO_LIMIT,
        )
    return len(held)


@dataclass(frozen=True)
class _Wanted:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class TakeBack:
    """What a late payment takes out of the cart: (line id, quantity left) per line; or the
    title of a product the cart no longer holds enough of."""

    lines: tuple[tuple[int, int], ...] = ()
    missing: str | None = None


async def plan_take_back(
    session: AsyncSession, *, owner: Owner, order_id: int, page_id: int | None
) -> TakeBack:
    """Lock the owner's free lines that an order paid after it expired takes back; changes
    nothing (take_back() does, once the bookings are claimed too).

    Its lines went back to the cart at expiry. If the shopper removed them, or checked them
    out again in another order, this payment is for goods they no longer want or are buying
    elsewhere, and a person must refund it: `missing` names the first such product.
    """
    wanted = await _ordered_products(session, order_id)
    if not wanted:
        return TakeBack()
    lines = {
        row.product_id: row
        for row in (
            await session.execute(
                select(CartItem.id, CartItem.product_id, CartItem.quantity)
                .where(
                    free_lines_of(owner),
                    on_page(page_id),
                    CartItem.product_id.in_([w.product_id for w in wanted]),
                )
                .order_by(CartItem.id)
                .with_for_update()
            )
        ).all()
    }
    for want in wanted:
        line = lines.get(want.product_id)
        if line is None or line.quantity < want.quantity:
            return TakeBack(missing=await _title(session, order_id, want.product_id))
    return TakeBack(
        lines=tuple(
            (lines[w.product_id].id, lines[w.product_id].quantity - w.quantity) for w in wanted
        )
    )


async def take_back(session: AsyncSession, plan: TakeBack) -> None:
    """Apply a plan without `missing`: lower each line, or remove it when nothing is left."""
    assert plan.missing is None
    now = utcnow()
    for line_id, left in plan.lines:
        values = {"quantity": left} if left > 0 else {"deleted_at": now}
        await session.execute(
            update(CartItem)
            .where(CartItem.id == line_id)
            .values(updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )


async def _ordered_products(session: AsyncSession, order_id: int) -> Sequence[_Wanted]:
    rows = await session.execute(
        select(OrderItem.product_id, func.sum(OrderItem.quantity))
        .where(
            OrderItem.order_id == order_id,
            OrderItem.kind == OrderItemKind.PRODUCT,
            OrderItem.product_id.is_not(None),
        )
        .group_by(OrderItem.product_id)
        .order_by(OrderItem.product_id)
    )
    # product_id is never NULL here (the query's condition); the column allows it for bookings.
    return [_Wanted(product_id or 0, int(quantity)) for product_id, quantity in rows.all()]


async def _title(session: AsyncSession, order_id: int, product_id: int) -> str:
    title = await session.scalar(
        select(OrderItem.title)
        .where(OrderItem.order_id == order_id, OrderItem.product_id == product_id)
        .limit(1)
    )
    return title or "a product"
