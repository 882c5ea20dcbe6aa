"""The whole checkout through the SumUp sandbox, by concurrent fresh shoppers: shop page,
add, cart page, "Check out and pay", the sandbox's page, Pay with the test card, and the
return page saying the order is paid. Orders per second, and p50/p99 of one order's
journey (those 6 requests and their redirects)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from harness.database import CHECKOUT_SLUG
from harness.forms import csrf_token_of, form_with_button

TEST_CARD = "4242 4242 4242 4242"


@dataclass(frozen=True)
class CheckoutResult:
    orders: int
    orders_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    first_error: str


async def _one_order(base_url: str, product_id: int) -> None:
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60, follow_redirects=True, headers={"Accept": "text/html"}
    ) as http:
        shop = await http.get(f"/shop/{CHECKOUT_SLUG}/")
        token = csrf_token_of(shop.text)
        cart = await http.post(
            "/cart/add", data={"csrf_token": token, "product_id": str(product_id), "quantity": "1"}
        )
        if not str(cart.url).endswith(f"/cart/{CHECKOUT_SLUG}/"):
            raise RuntimeError(f"add did not lead to the cart page: {cart.status_code} {cart.url}")
        checkout = form_with_button(cart.text, str(cart.url), "Check out and pay")
        hosted = await http.post(checkout.action, data=checkout.fields)
        if "/sumup-sandbox/pay/" not in str(hosted.url):
            raise RuntimeError(
                f"checkout did not lead to the sandbox: {hosted.status_code} {hosted.url}"
            )
        pay = form_with_button(hosted.text, str(hosted.url), "Pay")
        back = await http.post(pay.action, data={**pay.fields, "card_number": TEST_CARD})
        if "/checkout/return/" not in str(back.url) or "is paid" not in back.text:
            raise RuntimeError(f"the return page does not say paid: {back.status_code} {back.url}")


async def run(
    base_url: str, product_id: int, *, concurrency: int, seconds: float
) -> CheckoutResult:
    durations: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    async def shopper_after_shopper() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                await _one_order(base_url, product_id)
            except (httpx.HTTPError, RuntimeError, LookupError) as error:
                errors.append(f"{type(error).__name__}: {error}")
            else:
                durations.append(time.perf_counter() - started)

    started = time.monotonic()
    await asyncio.gather(*(shopper_after_shopper() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    durations.sort()

    def percentile(fraction: float) -> float:
        if not durations:
            return float("nan")
        return durations[min(int(len(durations) * fraction), len(durations) - 1)] * 1000

    return CheckoutResult(
        orders=len(durations),
        orders_per_second=len(durations) / elapsed,
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        errors=len(errors),
        first_error=errors[0] if errors else "",
    )
