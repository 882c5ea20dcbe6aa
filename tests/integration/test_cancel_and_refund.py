"""Operator actions: cancel an unpaid order, refund a paid one through SumUp (the sandbox),
and SumUp's refusals shown with SumUp's own words while nothing is recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.order_ops.cancel import cancel_order
from bp.order_ops.errors import OrderOpsError
from bp.order_ops.refund import refund_order
from models import Order, PaymentAttempt
from shared.models import utcnow
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import start_session
from tests.http.payment_steps import Started, press, start
from tests.integration.checkout_data import ANON
from tests.integration.order_ops_data import payloads, sandbox_clients
from tests.integration.payment_data import (
    BAKERY_TOTAL,
    PlacedBakery,
    entry_state,
    placed_bakery_order,
    stored_order,
)


async def _paid(app, client, db: AsyncSession, factory: Factory) -> tuple[PlacedBakery, Started]:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)
    await start_session(client, ANON.session_id)
    await press(client, started.hosted_checkout_url, "pay")  # the webhook pays the order
    assert (await stored_order(db, placed.order_id)).status == "paid"
    return placed, started


async def _refunded_minor(db: AsyncSession, order_id: int) -> int:
    await db.rollback()
    return (await db.execute(select(Order.refunded_minor).where(Order.id == order_id))).scalar_one()


def _sandbox_transaction(app, started: Started):  # type: ignore[no-untyped-def]
    [transaction] = sandbox_store(app.app).get(started.sumup_checkout_id).transactions
    return transaction


async def test_cancel_unpaid_order_closes_checkout_releases_booking_and_emits(
    app, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)

    cancelled = await cancel_order(
        db, ref_or_number=placed.number, client_for=sandbox_clients(app), now=utcnow()
    )

    assert cancelled.public_ref == placed.public_ref
    assert (await stored_order(db, placed.order_id)).status == "cancelled"
    assert await entry_state(db, placed.cart.entry_id) == "pending"
    assert sandbox_store(app.app).get(started.sumup_checkout_id).status == "EXPIRED"
    [event] = await payloads(db, "order.cancelled")
    assert (event["order_ref"], event["status"], event["bookings_released"]) == (
        placed.public_ref,
        "cancelled",
        1,
    )


async def test_cancel_of_a_paid_order_is_refused_and_changes_nothing(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, _ = await _paid(app, client, db, factory)

    with pytest.raises(OrderOpsError) as refused:
        await cancel_order(
            db, ref_or_number=placed.public_ref, client_for=sandbox_clients(app), now=utcnow()
        )

    assert refused.value.code == "not_cancellable"
    assert refused.value.message == (
        f"Order {placed.number} is paid: only an unpaid order can be cancelled."
    )
    assert (await stored_order(db, placed.order_id)).status == "paid"
    assert await payloads(db, "order.cancelled") == []


async def test_cancel_finds_the_payment_at_sumup_and_refuses(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)
    sandbox_store(app.app).send_webhooks = False
    await start_session(client, ANON.session_id)
    await press(client, started.hosted_checkout_url, "pay")

    with pytest.raises(OrderOpsError) as refused:
        await cancel_order(
            db, ref_or_number=placed.number, client_for=sandbox_clients(app), now=utcnow()
        )

    assert refused.value.code == "paid_meanwhile"
    assert (await stored_order(db, placed.order_id)).status == "paid"
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"


async def test_cancel_unknown_order_names_what_was_asked(app, db: AsyncSession) -> None:
    with pytest.raises(OrderOpsError) as refused:
        await cancel_order(
            db, ref_or_number="NOPE\x00", client_for=sandbox_clients(app), now=utcnow()
        )
    assert refused.value.code == "order_unknown"
    assert "NOPE" in refused.value.message


async def test_full_refund_through_sumup_marks_the_order_refunded(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, started = await _paid(app, client, db, factory)

    done = await refund_order(
        db, ref_or_number=placed.number, amount=None, client_for=sandbox_clients(app), now=utcnow()
    )

    assert (done.amount_minor, done.refunded_minor, done.status) == (
        BAKERY_TOTAL,
        BAKERY_TOTAL,
        "refunded",
    )
    assert (await stored_order(db, placed.order_id)).status == "refunded"
    assert await _refunded_minor(db, placed.order_id) == BAKERY_TOTAL
    assert _sandbox_transaction(app, started).status == "REFUNDED"
    [event] = await payloads(db, "order.refunded")
    assert (event["amount_minor"], event["refunded_minor"], event["fully_refunded"]) == (
        BAKERY_TOTAL,
        BAKERY_TOTAL,
        True,
    )
    with pytest.raises(OrderOpsError) as again:
        await refund_order(
            db,
            ref_or_number=placed.number,
            amount=None,
            client_for=sandbox_clients(app),
            now=utcnow(),
        )
    assert again.value.code == "fully_refunded"


async def test_partial_refunds_add_up_and_the_last_one_refunds_the_order(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, started = await _paid(app, client, db, factory)
    clients = sandbox_clients(app)

    first = await refund_order(
        db, ref_or_number=placed.number, amount="5.00", client_for=clients, now=utcnow()
    )
    assert (first.amount_minor, first.refunded_minor, first.status) == (500, 500, "paid")
    assert _sandbox_transaction(app, started).refunded == Decimal("5.00")

    with pytest.raises(OrderOpsError) as too_much:
        await refund_order(
            db, ref_or_number=placed.number, amount="100.00", client_for=clients, now=utcnow()
        )
    assert too_much.value.message == (
        f"Refund of £100.00 refused: only £19.00 of order {placed.number} is left to refund."
    )
    assert _sandbox_transaction(app, started).refunded == Decimal("5.00")  # SumUp not asked

    rest = await refund_order(
        db, ref_or_number=placed.number, amount="19", client_for=clients, now=utcnow()
    )
    assert (rest.amount_minor, rest.refunded_minor, rest.status) == (1900, 2400, "refunded")
    events = await payloads(db, "order.refunded")
    assert [(e["amount_minor"], e["fully_refunded"]) for e in events] == [
        (500, False),
        (1900, True),
    ]


@pytest.mark.parametrize("amount", ["-5", "5.001", "0", "0.00", "NaN", "1e3", "5,00", ""])
async def test_refund_amount_that_is_not_an_amount_is_refused_before_sumup(
    app, client, db: AsyncSession, factory: Factory, amount: str
) -> None:
    placed, started = await _paid(app, client, db, factory)

    with pytest.raises(OrderOpsError) as refused:
        await refund_order(
            db,
            ref_or_number=placed.number,
            amount=amount,
            client_for=sandbox_clients(app),
            now=utcnow(),
        )

    assert refused.value.code == "amount_invalid"
    assert "write it in major units, e.g. 5.00" in refused.value.message
    assert _sandbox_transaction(app, started).refunded == 0
    assert await _refunded_minor(db, placed.order_id) == 0


async def test_refund_sumup_refuses_unknown_transaction_shown_clearly_nothing_recorded(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, _ = await _paid(app, client, db, factory)
    await db.execute(update(PaymentAttempt).values(transaction_id="not-a-transaction"))
    await db.commit()

    with pytest.raises(OrderOpsError) as refused:
        await refund_order(
            db,
            ref_or_number=placed.number,
            amount=None,
            client_for=sandbox_clients(app),
            now=utcnow(),
        )

    assert refused.value.code == "refund_refused"
    assert refused.value.message == (
        f"SumUp refused the refund of order {placed.number}: Transaction not found"
    )
    assert await _refunded_minor(db, placed.order_id) == 0
    assert (await stored_order(db, placed.order_id)).status == "paid"
    assert await payloads(db, "order.refunded") == []


async def test_refund_sumup_refuses_more_than_it_has_left_shown_clearly_nothing_recorded(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, started = await _paid(app, client, db, factory)
    # Somebody refunded £10.00 in SumUp's dashboard, which our books do not know of.
    transaction = _sandbox_transaction(app, started)
    sandbox_store(app.app).refund(transaction.merchant_code, transaction.id, {"amount": 10})

    with pytest.raises(OrderOpsError) as refused:
        await refund_order(
            db,
            ref_or_number=placed.number,
            amount=None,
            client_for=sandbox_clients(app),
            now=utcnow(),
        )

    assert refused.value.message == (
        f"SumUp refused the refund of order {placed.number}: Amount exceeds the refundable amount"
    )
    assert await _refunded_minor(db, placed.order_id) == 0
    assert await payloads(db, "order.refunded") == []


async def test_refund_of_an_unpaid_order_is_refused(
    app, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)

    with pytest.raises(OrderOpsError) as refused:
        await refund_order(
            db,
            ref_or_number=placed.number,
            amount=None,
            client_for=sandbox_clients(app),
            now=utcnow(),
        )

    assert refused.value.message == f"Order {placed.number} has no SumUp payment to refund."
