"""Steps that several journeys take, with what the shopper must see at each."""

from __future__ import annotations

import re
import time
from typing import cast

from playwright.sync_api import expect

from tests.e2e.shopper import Shopper

ORDER_NUMBER = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}")
# The header's cart link: "Cart", then its item count ("Cart 3 items").
CART_LINK = re.compile(r"^Cart( \d+ items?)?$")


def order_ref(shopper: Shopper) -> str:
    """The order's public reference, from the return page's or order page's address."""
    return shopper.path.rstrip("/").rsplit("/", 1)[-1]


def add_to_cart(shopper: Shopper, product: str, *, quantity: int = 1) -> None:
    shopper.page.get_by_label(re.compile(rf"^Quantity\s+of {re.escape(product)}$")).fill(
        str(quantity)
    )
    shopper.press(f"Add {product} to cart", f"shop after adding {product}")
    expect(shopper.page.get_by_role("status")).to_contain_text(
        f"Added {quantity} × {product} to your cart"
    )


def pay_in_sandbox(shopper: Shopper, amount: str) -> str:
    """On SumUp's (the sandbox's) hosted page: pays with the prefilled test card; returns
    the order's reference from the return page it lands on."""
    expect(shopper.page.get_by_role("heading", level=1)).to_have_text(f"Pay {amount}")
    expect(shopper.page.get_by_label("Card number")).to_have_value("4242 4242 4242 4242")
    shopper.press(f"Pay {amount}", "return page (paid)")
    assert shopper.path.startswith("/checkout/return/")
    expect(shopper.page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"Thank you, order {ORDER_NUMBER.pattern} is paid")
    )
    return order_ref(shopper)


def wait_for_paid_event(redis_url: str, ref: str) -> dict[str, str]:
    """The order.paid entry of the order on the Redis stream (the dispatcher runs in the
    server, so it comes a moment after the payment)."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            entries = cast(list[tuple[str, dict[str, str]]], client.xrange("coop:events"))
            for _id, fields in entries:
                if fields.get("aggregate_id") == ref and fields.get("type") == "order.paid":
                    return fields
            time.sleep(0.3)
    finally:
        client.close()
    raise AssertionError(f"no order.paid for {ref} on coop:events within 15 s")
