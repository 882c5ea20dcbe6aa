"""A shopper's cart ready for checkout, and what checkout stored, read back as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.checkout_form import new_checkout_key
from bp.cart.services.fingerprint import cart_fingerprint
from bp.cart.services.load import load_cart
from bp.cart.services.totals import build_section, overview
from models import CartItem, Order, OrderItem
from shared.events import OutboxEvent
from shared.interfaces import Owner
from tests.contract.calendar_data import entry_for, slot_on_page
from tests.factories import Factory

ANON = Owner(session_id="anon-" + "a" * 20)
OTHER_ANON = Owner(session_id="anon-" + "b" * 20)
CLASS_STARTS = datetime(2030, 5, 4, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class BakeryCart:
    page_id: int
    bread_id: int
    jam_id: int
    bread_line: int
    jam_line: int
    slot_id: int
    entry_id: int


async def bakery_cart(factory: Factory, owner: Owner = ANON, *, places: int = 10) -> BakeryCart:
    """Bakery: bread ×2 at £2.50, jam ×1 at £4.00, one place in a £15.00 baking class."""
    page_id = (await factory.page(slug="bakery", title="Bakery")).id
    bread = (await factory.product(page_id=page_id, title="Bread", price_minor=250)).id
    jam = (await factory.product(page_id=page_id, title="Jam", price_minor=400)).id
    owned = {"user_id": owner.user_id, "session_id": owner.session_id}
    bread_line = await factory.cart_item(product_id=bread, page_id=page_id, quantity=2, **owned)
    jam_line = await factory.cart_item(product_id=jam, page_id=page_id, quantity=1, **owned)
    slot = await slot_on_page(
        factory,
        page_id=page_id,
        title="Baking class",
        places=places,
        price_minor=1500,
        starts_at=CLASS_STARTS,
        ends_at=CLASS_STARTS + timedelta(hours=3),
    )
    entry_id = await entry_for(factory, owner, slot_id=slot.id)
    return BakeryCart(
        page_id=page_id,
        bread_id=bread,
        jam_id=jam,
        bread_line=bread_line.id,
        jam_line=jam_line.id,
        slot_id=slot.id,
        entry_id=entry_id,
    )


async def seen(db: AsyncSession, owner: Owner, page_id: int | None) -> dict[str, str]:
    """The checkout form's fields as the cart page renders them now."""
    await db.rollback()
    sections = overview(await load_cart(db, owner=owner)).sections
    section = next((s for s in sections if s.page_id == page_id), None)
    return {
        "idempotency_key": new_checkout_key(),
        "expected_fingerprint": cart_fingerprint(section or build_section(page_id, None, (), ())),
    }


async def stored_orders(db: AsyncSession) -> list[Row[Any]]:
    """Every order's columns as committed now (rows, not the session's cached objects)."""
    await db.rollback()
    return list(await db.execute(select(*Order.__table__.c).order_by(Order.id)))


async def stored_items(db: AsyncSession, order_id: int) -> list[tuple[object, ...]]:
    """(kind, product, entry, title, unit price, quantity, line total, currency) by id."""
    rows = await db.execute(
        select(
            OrderItem.kind,
            OrderItem.product_id,
            OrderItem.calendar_entry_id,
            OrderItem.title,
            OrderItem.unit_price_minor,
            OrderItem.quantity,
            OrderItem.line_total_minor,
            OrderItem.currency,
        )
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.id)
    )
    return [tuple(row) for row in rows]


async def line_orders(db: AsyncSession) -> dict[int, int | None]:
    """Each cart line's id -> the order it is stamped with."""
    rows = await db.execute(select(CartItem.id, CartItem.order_id))
    return {row.id: row.order_id for row in rows}


async def events_of(db: AsyncSession, event_type: str) -> list[OutboxEvent]:
    return list(
        await db.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == event_type).order_by(OutboxEvent.id)
        )
    )


async def count_rows(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)
