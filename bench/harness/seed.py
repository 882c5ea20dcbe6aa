"""Shoppers made through HTTP against the running project, as browsers would: the shop page
gives the session cookie and its CSRF token, then add-to-cart forms are posted.

Each shopper's cookie (after a last GET of their cart page, which takes the flash messages
out of it) is what wrk sends for that shopper: the project and the baseline both read it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from harness.database import SHOP_SLUG
from harness.forms import csrf_token_of

CART_SIZES = (1, 10, 50)
SHOPPERS_PER_SIZE = 8  # wrk's requests go round them: not one row cached for everybody
ADD_SHOPPERS = 16  # the add scenario's; they start with one line


@dataclass(frozen=True)
class Shopper:
    cookie: str  # the Cookie header
    csrf_token: str


@dataclass(frozen=True)
class Shoppers:
    by_size: dict[int, list[Shopper]]
    adders: list[Shopper]


async def seed_shoppers(base_url: str, product_ids: list[int]) -> Shoppers:
    async with asyncio.timeout(300):
        sized = [
            _shopper(base_url, product_ids[:size])
            for size in CART_SIZES
            for _ in range(SHOPPERS_PER_SIZE)
        ]
        adders = [_shopper(base_url, product_ids[:1]) for _ in range(ADD_SHOPPERS)]
        made = await asyncio.gather(*sized, *adders)
    by_size = {
        size: made[i * SHOPPERS_PER_SIZE : (i + 1) * SHOPPERS_PER_SIZE]
        for i, size in enumerate(CART_SIZES)
    }
    return Shoppers(by_size, made[len(sized) :])


async def _shopper(base_url: str, product_ids: list[int]) -> Shopper:
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60, headers={"Accept": "text/html"}
    ) as http:
        shop = await http.get(f"/shop/{SHOP_SLUG}/")
        shop.raise_for_status()
        token = csrf_token_of(shop.text)
        for product_id in product_ids:
            added = await http.post(
                "/cart/add",
                data={"csrf_token": token, "product_id": str(product_id), "quantity": "1"},
            )
            if added.status_code != 302 or not added.headers["location"].endswith(
                f"/cart/{SHOP_SLUG}/"
            ):
                raise SystemExit(
                    f"seeding: add of product {product_id} answered {added.status_code}"
                )
        cart = await http.get(f"/cart/{SHOP_SLUG}/")
        if cart.status_code != 200 or cart.text.count('class="line"') != len(product_ids):
            raise SystemExit(f"seeding: the cart page does not show {len(product_ids)} lines")
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        return Shopper(cookie, token)
