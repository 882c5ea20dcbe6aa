"""A shopper's steps through payment, as a browser takes them through the test client."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.payment import PaymentUrls, start_payment
from models import Order
from shared.base_app import settings_of
from shared.http_client import http_client_of
from tests.http.checkout_forms import TOKEN


def local(url: str) -> str:
    """The path (and query) of one of our absolute URLs, as the test client takes it."""
    return httpx.URL(url).raw_path.decode()


@dataclass(frozen=True)
class Started:
    sumup_checkout_id: str
    hosted_checkout_url: str


async def start(app, db: AsyncSession, order_id: int) -> Started:  # type: ignore[no-untyped-def]
    """start_payment() for the order, as the checkout route calls it; the attempt's ids are
    copied out, since the tests' rollbacks expire the row."""
    settings = settings_of(app.app)
    order = await db.get(Order, order_id)
    assert order is not None
    attempt = await start_payment(
        db,
        order=order,
        http=http_client_of(app.app),
        settings=settings,
        urls=PaymentUrls.from_settings(settings),
    )
    assert attempt.sumup_checkout_id and attempt.hosted_checkout_url
    return Started(attempt.sumup_checkout_id, attempt.hosted_checkout_url)


async def press(client, hosted_url: str, button: str):  # type: ignore[no-untyped-def]
    """Press "pay" or "decline" on the sandbox's hosted page; answers the redirect."""
    page = await client.get(local(hosted_url))
    assert page.status_code == 200
    return await client.post(f"{local(hosted_url)}/{button}", form={"csrf_token": TOKEN})


async def page_text(client, path: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    return response.status_code, await response.get_data(as_text=True)
