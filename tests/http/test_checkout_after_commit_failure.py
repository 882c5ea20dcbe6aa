"""Checkout when something fails after the order is committed: the shopper lands on it.

The checkout commits its order first, then starts the payment (a SumUp checkout, then our
record of it). A failure in between used to answer the generic 500 page saying "nothing was
changed"; the shopper pressed "Check out" again and made a second order. Here the database
write that records SumUp's checkout fails, as it did while the database restarted.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import Order, OrderItem, PaymentAttempt
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import rendered_checkout_form, start_session
from tests.http.payment_steps import local
from tests.integration.checkout_data import ANON, BakeryCart, bakery_cart

ANON_ID = ANON.session_id
CART_ORIGIN = "http://127.0.0.1:8002"  # app_urls.cart in config/app-config.yaml
RECORD_ATTEMPT = "UPDATE payment_attempts"


@pytest.fixture
async def bakery(factory: Factory) -> BakeryCart:
    return await bakery_cart(factory)


def database_gone(statement: str, params: Any, dialect: str) -> sa_exc.OperationalError:
    """What the driver raises when the database goes away mid-request, on each backend."""
    if dialect == "sqlite":
        return sa_exc.OperationalError(
            statement, params, sqlite3.OperationalError("database is locked")
        )
    return sa_exc.OperationalError(
        statement, params, ConnectionResetError("server closed the connection unexpectedly")
    )


@contextmanager
def next_write_fails(
    engine: AsyncEngine, *, writes: str, nth: int, error: Any = database_gone
) -> Iterator[list[str]]:
    """The `nth` statement starting with `writes` fails (once), before reaching the database."""
    seen: list[str] = []

    def _fail(conn, _cursor, statement, params, _context, _many):  # type: ignore[no-untyped-def]
        if statement.startswith(writes):
            seen.append(statement)
            if len(seen) == nth:
                raise error(statement, params, conn.dialect.name)

    event.listen(engine.sync_engine, "before_cursor_execute", _fail)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _fail)


async def stored(db: AsyncSession) -> dict[str, Any]:
    """The orders, their items and payment attempts, as committed now."""
    await db.rollback()
    orders = (
        await db.execute(select(Order.id, Order.number, Order.public_ref, Order.status))
    ).all()
    items = await db.scalar(select(func.count()).select_from(OrderItem))
    attempts = (
        await db.execute(
            select(
                PaymentAttempt.order_id,
                PaymentAttempt.checkout_reference,
                PaymentAttempt.status,
                PaymentAttempt.hosted_checkout_url,
            )
        )
    ).all()
    return {"orders": orders, "items": items, "attempts": attempts}


async def test_checkout_whose_next_write_fails_lands_the_shopper_on_the_saved_order(  # type: ignore[no-untyped-def]
    app, client, engine: AsyncEngine, db: AsyncSession, bakery, caplog
) -> None:
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")

    # SumUp made the checkout; we record it (the first UPDATE, not committed yet), then the
    # second UPDATE of that transaction fails: half of it is written, none may be kept.
    with caplog.at_level(logging.WARNING), next_write_fails(engine, writes=RECORD_ATTEMPT, nth=2):
        response = await client.post(action, form=fields)

    now = await stored(db)
    [(order_id, number, public_ref, status)] = now["orders"]
    assert status == "pending" and now["items"] == 3  # bread, jam, the baking class
    # The transaction that failed half-way is rolled back: the attempt is as committed before
    # SumUp was called, and its reference finds SumUp's checkout again.
    [(attempt_order, reference, attempt_status, attempt_url)] = now["attempts"]
    assert (attempt_order, attempt_status, attempt_url) == (order_id, "CREATING", None)
    assert len(sandbox_store(app.app).find(reference)) == 1

    # The shopper is sent to the order, not to a page saying nothing was changed.
    return_page = f"{CART_ORIGIN}/checkout/return/{public_ref}"
    assert response.status_code == 303 and response.headers["Location"] == return_page
    followed = await client.get(local(return_page))
    page = await followed.get_data(as_text=True)
    assert followed.status_code == 200
    assert (
        f"Your order {number} is saved, but the payment could not be started: "
        "the shop could not reach its database. Please try paying again in a moment."
    ) in page
    assert f"Order {number} is not paid yet" in page and "Bread" in page and "Jam" in page
    assert f'action="/checkout/{public_ref}/pay-again"' in page
    assert "nothing was changed" not in page.lower()
    # The operator gets one line, without a trace.
    [logged] = [r for r in caplog.records if "payment did not start" in r.getMessage()]
    assert logged.levelno == logging.WARNING and logged.exc_info is None
    assert number in logged.getMessage()

    # The shopper presses back and sends the same form again: the same order, and the payment
    # page of the same SumUp checkout (no second order, no second checkout).
    again = await client.post(action, form=fields)
    now = await stored(db)
    assert [row.number for row in now["orders"]] == [number] and now["items"] == 3
    [(_, same_reference, attempt_status, attempt_url)] = now["attempts"]
    assert same_reference == reference and attempt_status == "PENDING"
    assert again.status_code == 303 and again.headers["Location"] == attempt_url
    assert len(sandbox_store(app.app).find(reference)) == 1


def _bug(statement: str, _params: Any, _dialect: str) -> Exception:
    return RuntimeError(f"a bug while running {statement[:20]}")


async def test_any_failure_after_the_order_is_committed_lands_on_the_order(  # type: ignore[no-untyped-def]
    client, engine: AsyncEngine, db: AsyncSession, bakery, caplog
) -> None:
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")

    with (
        caplog.at_level(logging.WARNING),
        next_write_fails(engine, writes=RECORD_ATTEMPT, nth=1, error=_bug),
    ):
        response = await client.post(action, form=fields)

    [(_, number, public_ref, _)] = (await stored(db))["orders"]
    assert response.status_code == 303
    assert response.headers["Location"] == f"{CART_ORIGIN}/checkout/return/{public_ref}"
    page = await (await client.get(local(response.headers["Location"]))).get_data(as_text=True)
    assert (
        f"Your order {number} is saved, but the payment could not be started: "
        "something went wrong on our side."
    ) in page
    assert f"Order {number} is not paid yet" in page
    # An unexpected failure is logged with its trace, for the operator to find the bug.
    [logged] = [r for r in caplog.records if "payment did not start" in r.getMessage()]
    assert logged.exc_info is not None and "a bug while running" in str(logged.exc_info[1])
