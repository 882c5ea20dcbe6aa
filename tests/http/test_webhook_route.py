"""POST /checkout/webhook: SumUp's notice. Empty 2xx for what SumUp sends, 400 for anything
else (nothing changed), and the status always fetched from SumUp, never taken from the body."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.payment import PaymentUrls, start_payment
from models import Order
from shared.base_app import settings_of
from shared.http_client import HTTP_CLIENT_KEY, http_client_of
from sumup.credentials import SANDBOX_API_KEY
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.integration.payment_data import (
    attempts_of,
    entry_state,
    live_line_ids,
    paid_events,
    placed_bakery_order,
    stored_order,
)

WEBHOOK = "/checkout/webhook"


async def _started(app, db: AsyncSession, factory: Factory):  # type: ignore[no-untyped-def]
    """A bakery order with a PENDING checkout in the sandbox; the sandbox sends no webhooks
    by itself, so each test posts its own."""
    placed = await placed_bakery_order(db, factory)
    quart_app = app.app
    settings = settings_of(quart_app)
    order = await db.get(Order, placed.order_id)
    attempt = await start_payment(
        db,
        order=order,
        http=http_client_of(quart_app),
        settings=settings,
        urls=PaymentUrls.from_settings(settings),
    )
    store = sandbox_store(quart_app)
    store.send_webhooks = False
    return placed, attempt.sumup_checkout_id, store


def _notice(checkout_id: str) -> dict[str, str]:
    return {"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout_id}


async def test_webhook_after_payment_pays_the_order_with_an_empty_2xx(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, checkout_id, store = await _started(app, db, factory)
    store.pay(checkout_id, succeed=True)

    response = await client.post(WEBHOOK, json=_notice(checkout_id))

    assert response.status_code == 204
    assert await response.get_data() == b""
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    assert await live_line_ids(db) == set()
    assert len(await paid_events(db)) == 1


async def test_webhook_body_is_not_trusted_sumup_is_asked(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, checkout_id, _store = await _started(app, db, factory)
    # Claims to be paid, but SumUp says PENDING: nothing is paid.
    forged = {**_notice(checkout_id), "status": "PAID", "amount": 24.0}

    response = await client.post(WEBHOOK, json=forged)

    assert response.status_code == 204
    assert await stored_order(db, placed.order_id) == ("pending", False, None)
    assert await paid_events(db) == []


async def test_five_webhooks_at_once_give_one_order_paid_event(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, checkout_id, store = await _started(app, db, factory)
    store.pay(checkout_id, succeed=True)

    responses = await asyncio.gather(
        *(client.post(WEBHOOK, json=_notice(checkout_id)) for _ in range(5))
    )

    assert [r.status_code for r in responses] == [204] * 5
    assert len(await paid_events(db)) == 1
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'"CHECKOUT_STATUS_CHANGED"',
        b"{}",
        b'{"event_type": 7, "id": "x"}',
        b'{"event_type": "CHECKOUT_STATUS_CHANGED"}',
        b'{"event_type": "CHECKOUT_STATUS_CHANGED", "id": 12345}',
        b'{"event_type": "CHECKOUT_STATUS_CHANGED", "id": ""}',
        b'{"event_type": "CHECKOUT_STATUS_CHANGED", "id": "../../v0.1/checkouts"}',
        b'{"event_type": "CHECKOUT_STATUS_CHANGED", "id": "' + b"a" * 65 + b'"}',
        b'{"event_type": "CHECKOUT_STATUS_CHANGED", "id": ["x"]}',
        b"[" * 2000 + b"]" * 2000,  # within the size limit, nested past the parser's depth
    ],
)
async def test_webhook_garbage_is_refused_with_400_and_changes_nothing(
    app, client, db: AsyncSession, factory: Factory, body: bytes
) -> None:
    placed, checkout_id, store = await _started(app, db, factory)
    store.pay(checkout_id, succeed=True)

    response = await client.post(WEBHOOK, data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert await response.get_data() == b""
    assert await stored_order(db, placed.order_id) == ("pending", False, None)
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["PENDING"]


async def test_webhook_huge_body_is_refused_with_400_and_changes_nothing(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, checkout_id, store = await _started(app, db, factory)
    store.pay(checkout_id, succeed=True)
    padded = json.dumps({**_notice(checkout_id), "padding": "x" * 5000}).encode()

    response = await client.post(WEBHOOK, data=padded, headers={"Content-Type": "application/json"})
    far_too_big = await client.post(
        WEBHOOK, data=b"{" + b" " * 300_000 + b"}", headers={"Content-Type": "application/json"}
    )

    assert (response.status_code, far_too_big.status_code) == (400, 400)
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_webhook_unknown_checkout_id_is_acknowledged_and_ignored(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, _checkout_id, _store = await _started(app, db, factory)

    response = await client.post(WEBHOOK, json=_notice("7f3c1e1e-0000-4000-8000-000000000000"))

    assert response.status_code == 204
    assert await response.get_data() == b""
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_webhook_unknown_event_type_is_acknowledged_and_ignored(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, checkout_id, store = await _started(app, db, factory)
    store.pay(checkout_id, succeed=True)

    response = await client.post(WEBHOOK, json={"event_type": "PAYOUT_SENT", "id": checkout_id})

    assert response.status_code == 204
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_webhook_needs_no_csrf_token_but_other_posts_still_do(client) -> None:  # type: ignore[no-untyped-def]
    assert (await client.post(WEBHOOK, json={"event_type": "OTHER"})).status_code == 204
    assert (await client.post("/cart/add", form={"product_id": "1"})).status_code == 400


async def test_webhook_when_sumup_cannot_be_asked_answers_503_so_sumup_retries(
    app, client, db: AsyncSession, factory: Factory
) -> None:
    placed, checkout_id, store = await _started(app, db, factory)
    store.pay(checkout_id, succeed=True)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app.app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    response = await client.post(WEBHOOK, json=_notice(checkout_id))

    assert response.status_code == 503
    assert await response.get_data() == b""
    assert await stored_order(db, placed.order_id) == ("pending", False, None)


async def test_webhook_logs_never_carry_the_api_key(
    app, client, db: AsyncSession, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    placed, checkout_id, store = await _started(app, db, factory)
    store.pay(checkout_id, succeed=True)

    with caplog.at_level(logging.DEBUG):
        await client.post(WEBHOOK, data=b"garbage")
        await client.post(WEBHOOK, json=_notice(checkout_id))

    assert "SumUp GET" in caplog.text  # the calls are logged...
    assert SANDBOX_API_KEY not in caplog.text  # ...without the key
    [event] = await paid_events(db)
    assert SANDBOX_API_KEY not in json.dumps(event)
