"""start_payment(): an attempt recorded before SumUp is asked, SumUp's answer recorded after;
lost answers found again by reference; refusals that leave the order as it was."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.cart.services.payment import PaymentUrls, start_payment
from bp.cart.services.payment_errors import PaymentError
from models import Order, PageConfig, PaymentAttempt
from shared.config import Settings, load_settings
from shared.db import make_sessionmaker
from shared.events import OutboxEvent
from sumup.sandbox import sandbox_store
from tests.conftest import ArrivingFromOutside
from tests.factories import Factory
from tests.integration.payment_data import (
    LosesTheFirstCreateAnswer,
    PlacedBakery,
    attempts_of,
    placed_bakery_order,
    stored_order,
)

REAL_LOOKING_KEY = "sup_sk_LIVE_" + "9" * 24


def _refusing(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def sandbox_http(app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=ArrivingFromOutside(app.app)))


async def _start(
    db: AsyncSession, placed: PlacedBakery, http: httpx.AsyncClient, settings: Settings
) -> PaymentAttempt:
    order = await db.get(Order, placed.order_id)
    assert order is not None
    return await start_payment(
        db, order=order, http=http, settings=settings, urls=PaymentUrls.from_settings(settings)
    )


async def test_start_payment_makes_a_hosted_checkout_for_the_exact_amount(
    app, db: AsyncSession, factory: Factory, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    placed = await placed_bakery_order(db, factory)

    attempt = await _start(db, placed, sandbox_http, settings)

    reference = f"coop-{placed.public_ref}-1"
    assert (attempt.checkout_reference, attempt.status) == (reference, "PENDING")
    assert len(reference) <= 64
    assert attempt.hosted_checkout_url == (
        f"http://127.0.0.1:8002/sumup-sandbox/pay/{attempt.sumup_checkout_id}"
    )
    assert (attempt.amount_minor, attempt.currency, attempt.merchant_code) == (
        2400,
        "GBP",
        "MSANDBOX1",
    )
    [checkout] = sandbox_store(app.app).find(reference)
    assert checkout.id == attempt.sumup_checkout_id
    assert (checkout.amount, checkout.currency) == (Decimal("24.00"), "GBP")
    assert checkout.description == f"Order {placed.number}"
    # Built from app_urls.cart, not from any request's Host header.
    assert checkout.return_url == "http://127.0.0.1:8002/checkout/webhook"
    assert checkout.redirect_url == f"http://127.0.0.1:8002/checkout/return/{placed.public_ref}"
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_start_payment_again_offers_the_open_checkout_instead_of_a_second(
    app, db: AsyncSession, factory: Factory, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    placed = await placed_bakery_order(db, factory)
    first = await _start(db, placed, sandbox_http, settings)
    first_id = first.sumup_checkout_id

    again = await _start(db, placed, sandbox_http, settings)

    assert again.sumup_checkout_id == first_id
    assert len(await attempts_of(db, placed.order_id)) == 1
    assert len(sandbox_store(app.app).find(None)) == 1


async def test_start_payment_when_sumup_is_down_keeps_the_order_and_says_so(
    db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    placed = await placed_bakery_order(db, factory)
    down = httpx.AsyncClient(transport=httpx.MockTransport(_refusing))

    with pytest.raises(PaymentError) as refused:
        await _start(db, placed, down, settings)

    assert refused.value.code == "payment_unavailable"
    assert refused.value.public_ref == placed.public_ref
    assert refused.value.message == (
        f"The payment service did not answer. Your order {placed.number} is saved; "
        "please try paying again in a moment."
    )
    assert await attempts_of(db, placed.order_id) == [
        (f"coop-{placed.public_ref}-1", "CREATING", None)
    ]
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_lost_create_answer_is_found_again_by_its_reference_not_made_twice(
    app, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    placed = await placed_bakery_order(db, factory)
    losing = LosesTheFirstCreateAnswer(httpx.ASGITransport(app=ArrivingFromOutside(app.app)))
    http = httpx.AsyncClient(transport=losing)

    with pytest.raises(PaymentError) as lost:
        await _start(db, placed, http, settings)
    assert lost.value.code == "payment_unavailable"
    reference = f"coop-{placed.public_ref}-1"
    [made_at_sumup] = sandbox_store(app.app).find(reference)  # it was made all the same
    assert await attempts_of(db, placed.order_id) == [(reference, "CREATING", None)]

    retried = await _start(db, placed, http, settings)

    assert losing.creates == 2  # the retry's create answered 409 DUPLICATED_CHECKOUT
    assert retried.sumup_checkout_id == made_at_sumup.id
    assert retried.checkout_reference == reference
    assert len(sandbox_store(app.app).find(None)) == 1
    assert await attempts_of(db, placed.order_id) == [(reference, "PENDING", made_at_sumup.id)]


async def test_lost_create_answer_whose_checkout_was_paid_meanwhile_pays_the_order(
    app, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    placed = await placed_bakery_order(db, factory)
    http = httpx.AsyncClient(
        transport=LosesTheFirstCreateAnswer(httpx.ASGITransport(app=ArrivingFromOutside(app.app)))
    )
    with pytest.raises(PaymentError):
        await _start(db, placed, http, settings)
    store = sandbox_store(app.app)
    store.send_webhooks = False
    [made] = store.find(f"coop-{placed.public_ref}-1")
    store.pay(made.id, succeed=True)

    with pytest.raises(PaymentError) as paid:
        await _start(db, placed, http, settings)

    assert paid.value.code == "order_paid"
    assert await stored_order(db, placed.order_id) == ("paid", True, None)


async def test_start_payment_uses_the_pages_own_merchant_and_prefix(
    app, db: AsyncSession, factory: Factory, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    placed = await placed_bakery_order(db, factory)
    db.add(
        PageConfig(
            page_id=placed.cart.page_id,
            sumup_merchant_code="MBAKERY",
            checkout_reference_prefix="bake",
        )
    )
    await db.commit()

    attempt = await _start(db, placed, sandbox_http, settings)

    assert attempt.checkout_reference == f"bake-{placed.public_ref}-1"
    assert attempt.merchant_code == "MBAKERY"
    [checkout] = sandbox_store(app.app).find(attempt.checkout_reference)
    assert checkout.merchant_code == "MBAKERY"


async def test_start_payment_refuses_an_order_in_another_currency_than_the_account(
    db: AsyncSession, factory: Factory, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    placed = await placed_bakery_order(db, factory)
    db.add(PageConfig(page_id=placed.cart.page_id, currency="EUR"))
    await db.commit()

    with pytest.raises(PaymentError) as refused:
        await _start(db, placed, sandbox_http, settings)

    assert refused.value.code == "currency_not_accepted"
    assert "GBP" in refused.value.message and placed.number in refused.value.message
    assert await attempts_of(db, placed.order_id) == []


@pytest.mark.parametrize(
    ("status", "code"), [("paid", "order_paid"), ("expired", "order_not_payable")]
)
async def test_start_payment_of_an_order_not_pending_is_refused(
    db: AsyncSession,
    factory: Factory,
    settings: Settings,
    sandbox_http: httpx.AsyncClient,
    status: str,
    code: str,
) -> None:
    placed = await placed_bakery_order(db, factory)
    await db.execute(update(Order).where(Order.id == placed.order_id).values(status=status))
    await db.commit()

    with pytest.raises(PaymentError) as refused:
        await _start(db, placed, sandbox_http, settings)

    assert refused.value.code == code
    assert await attempts_of(db, placed.order_id) == []


def _real_sumup_settings(settings: Settings) -> Settings:
    env = {
        "APP_MODE": "development",
        "DATABASE_URL_ASYNC": settings.database_url,
        "CART_VAR_DIR": str(settings.var_dir),
        "SECRET_KEY": "t" * 32,
        "SUMUP_API_BASE": "https://api.sumup.example",
        "SUMUP_API_KEY_REF": "SUMUP_API_KEY_COOP",
        "SUMUP_MERCHANT_CODE": "MREAL01",
    }
    real = load_settings(env)
    assert not real.sumup.sandbox
    return real


async def test_start_payment_without_the_api_key_set_is_not_configured_naming_only_the_ref(
    db: AsyncSession,
    factory: Factory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SUMUP_API_KEY_COOP", raising=False)
    placed = await placed_bakery_order(db, factory)
    never_called = httpx.AsyncClient(transport=httpx.MockTransport(_refusing))

    with caplog.at_level(logging.ERROR), pytest.raises(PaymentError) as refused:
        await _start(db, placed, never_called, _real_sumup_settings(settings))

    assert refused.value.code == "payment_not_configured"
    assert "SUMUP_API_KEY_COOP" not in refused.value.message  # the shopper gets no setup details
    assert "SUMUP_API_KEY_COOP" in caplog.text  # the operator learns which key is missing


@pytest.mark.parametrize("status", [401, 500])
async def test_the_api_key_is_in_no_log_line_exception_or_event(
    db: AsyncSession,
    factory: Factory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
) -> None:
    monkeypatch.setenv("SUMUP_API_KEY_COOP", REAL_LOOKING_KEY)
    placed = await placed_bakery_order(db, factory)
    sent: list[str] = []

    def echoing_sumup(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        # An answer that (wrongly) echoes the key back must not carry it any further.
        return httpx.Response(
            status,
            json={"error_code": "UNAUTHORIZED", "message": f"bad key {REAL_LOOKING_KEY}"},
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(echoing_sumup))
    with caplog.at_level(logging.DEBUG), pytest.raises(PaymentError) as refused:
        await _start(db, placed, http, _real_sumup_settings(settings))

    assert sent and sent[0] == f"Bearer {REAL_LOOKING_KEY}"  # it was used...
    assert REAL_LOOKING_KEY not in caplog.text  # ...and went nowhere else
    assert REAL_LOOKING_KEY not in str(refused.value) + refused.value.message
    assert REAL_LOOKING_KEY not in repr(refused.value.__context__)
    await db.rollback()
    payloads = [json.dumps(p) for p in await db.scalars(select(OutboxEvent.payload))]
    assert payloads and not any(REAL_LOOKING_KEY in p for p in payloads)  # order.created


async def test_two_pay_again_clicks_at_once_make_one_new_checkout(
    app, engine: AsyncEngine, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    placed = await placed_bakery_order(db, factory)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=ArrivingFromOutside(app.app)))
    first = await _start(db, placed, http, settings)
    store = sandbox_store(app.app)
    store.send_webhooks = False
    store.pay(first.sumup_checkout_id, succeed=False)  # declined: the shopper pays again

    async def click() -> str:
        async with make_sessionmaker(engine)() as own_connection:
            attempt = await _start(own_connection, placed, http, settings)
            return attempt.sumup_checkout_id or ""

    offered = await asyncio.gather(click(), click())

    attempts = await attempts_of(db, placed.order_id)
    assert [a[1] for a in attempts] == ["EXPIRED", "PENDING"]
    assert offered[0] == offered[1] == attempts[1][2]
    assert len(store.find(f"coop-{placed.public_ref}-2")) == 1
