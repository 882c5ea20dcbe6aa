"""What the database holds after a fault, counted: orders, their items, bookings, payment
attempts and the outbox, and whatever would be half-written."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import text

from shared.db import make_engine


@dataclass(frozen=True)
class Integrity:
    orders: int
    statuses: dict[str, int]
    order_items: int
    orders_without_items: int
    ordered_bookings: int  # calendar entries held by an order (ordered or confirmed)
    bookings_without_order: int  # held, but by no existing order
    bookings_of_closed_orders: int  # still held by an expired or cancelled order
    booking_items_not_held: int  # a pending or paid order's booking line, its place not held
    created_events: int
    orders_without_created_event: int
    created_events_without_order: int
    orders_with_two_created_events: int
    events: dict[str, int]
    undelivered_events: int

    def half_written(self) -> dict[str, int]:
        """Everything that must be 0."""
        return {
            "orders without items": self.orders_without_items,
            "bookings held by no existing order": self.bookings_without_order,
            "bookings still held by a closed order": self.bookings_of_closed_orders,
            "booking lines whose place the order does not hold": self.booking_items_not_held,
            "orders without order.created": self.orders_without_created_event,
            "order.created without its order": self.created_events_without_order,
            "orders with two order.created": self.orders_with_two_created_events,
        }

    def line(self) -> str:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "none"
        events = ", ".join(f"{n} {t}" for t, n in sorted(self.events.items())) or "none"
        broken = sum(self.half_written().values())
        return (
            f"stored: {self.orders} orders ({statuses}), {self.order_items} order items, "
            f"{self.ordered_bookings} bookings held by orders; events: {events} "
            f"({self.undelivered_events} undelivered); half-written: {broken}"
        )


_COUNTS = {
    "orders": "SELECT count(*) FROM orders",
    "order_items": "SELECT count(*) FROM order_items",
    "orders_without_items": (
        "SELECT count(*) FROM orders o WHERE NOT EXISTS "
        "(SELECT 1 FROM order_items i WHERE i.order_id = o.id)"
    ),
    "ordered_bookings": (
        "SELECT count(*) FROM calendar_entries WHERE state IN ('ordered', 'confirmed')"
    ),
    "bookings_without_order": (
        "SELECT count(*) FROM calendar_entries e WHERE e.state IN ('ordered', 'confirmed') "
        "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = e.order_id)"
    ),
    "bookings_of_closed_orders": (
        "SELECT count(*) FROM calendar_entries e JOIN orders o ON o.id = e.order_id "
        "WHERE o.status IN ('expired', 'cancelled')"
    ),
    "booking_items_not_held": (
        "SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id "
        "WHERE i.kind = 'booking' AND o.status IN ('pending', 'paid') AND NOT EXISTS "
        "(SELECT 1 FROM calendar_entries e WHERE e.id = i.calendar_entry_id "
        "AND e.order_id = o.id AND e.state IN ('ordered', 'confirmed'))"
    ),
    "created_events": "SELECT count(*) FROM outbox_events WHERE event_type = 'order.created'",
    "orders_without_created_event": (
        "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM outbox_events e "
        "WHERE e.event_type = 'order.created' AND e.aggregate_id = o.public_ref)"
    ),
    "created_events_without_order": (
        "SELECT count(*) FROM outbox_events e WHERE e.event_type = 'order.created' "
        "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.public_ref = e.aggregate_id)"
    ),
    "orders_with_two_created_events": (
        "SELECT count(*) FROM (SELECT aggregate_id FROM outbox_events "
        "WHERE event_type = 'order.created' GROUP BY aggregate_id HAVING count(*) > 1) twice"
    ),
    "undelivered_events": "SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL",
}


class Stored:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    async def close(self) -> None:
        await self.engine.dispose()

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()

    async def execute(self, sql: str, **params: Any) -> int:
        async with self.engine.begin() as connection:
            return int((await connection.execute(text(sql), params)).rowcount)

    async def integrity(self) -> Integrity:
        counts = {name: int(await self.scalar(sql)) for name, sql in _COUNTS.items()}
        statuses = Counter(
            {
                s: int(n)
                for s, n in await self.rows("SELECT status, count(*) FROM orders GROUP BY 1")
            }
        )
        events = Counter(
            {
                t: int(n)
                for t, n in await self.rows(
                    "SELECT event_type, count(*) FROM outbox_events GROUP BY 1"
                )
            }
        )
        return Integrity(statuses=dict(statuses), events=dict(events), **counts)

    async def orders(self) -> dict[str, tuple[str, str]]:
        """public_ref -> (number, status)."""
        return {
            ref: (number, status)
            for ref, number, status in await self.rows(
                "SELECT public_ref, number, status FROM orders"
            )
        }

    async def attempts(self) -> list[tuple[str, str, str, str | None]]:
        """(order number, checkout_reference, status, SumUp checkout id), oldest first."""
        return [
            tuple(row)
            for row in await self.rows(
                "SELECT o.number, a.checkout_reference, a.status, a.sumup_checkout_id "
                "FROM payment_attempts a JOIN orders o ON o.id = a.order_id ORDER BY a.id"
            )
        ]

    async def event_ids(self) -> set[str]:
        return {row[0] for row in await self.rows("SELECT event_id FROM outbox_events")}

    async def drained(self, *, within: float) -> float | None:
        """Seconds until no event is left undelivered (None: not within `within`)."""
        began = time.monotonic()
        while time.monotonic() - began < within:
            if not await self.scalar(
                "SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL"
            ):
                return time.monotonic() - began
            await asyncio.sleep(0.2)
        return None


def stream_event_ids(redis_url: str, stream: str = "coop:events") -> list[str]:
    """The event_id of every entry on the stream, oldest first (repeats kept)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5)
    try:
        entries: list[tuple[str, dict[str, str]]] = client.xrange(stream)  # type: ignore[assignment]
        return [fields["event_id"] for _, fields in entries]
    finally:
        client.close()
