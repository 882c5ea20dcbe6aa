"""A shopper with a mouse: two shops, a booking, a checkout paid in the sandbox; a declined
card, then paying again; signing in with an anonymous cart.

Every page reached goes through the checks of checks.py (axe-core, 390 px, focus) before
the journey looks at what it shows. The demo site (bp/demo/seed.py): The Bakery sells a
sourdough loaf (£4.50), cinnamon buns (£2.75), rye crackers (£3.20) and books a
bread-making class (£35.00); the Community Garden sells tomato seeds (£2.50) and compost
(£6.50); the co-op's own shop a mug (£12.00).
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.e2e.shopper import ShopperFactory
from tests.e2e.steps import (
    CART_LINK,
    ORDER_NUMBER,
    add_to_cart,
    order_ref,
    pay_in_sandbox,
    wait_for_paid_event,
)


def test_anonymous_shopper_pays_one_page_and_the_other_pages_cart_is_untouched(
    open_shopper: ShopperFactory,
) -> None:
    shopper = open_shopper()
    main = shopper.main

    shopper.visit("/shop/the-bakery/", "shop: The Bakery")
    add_to_cart(shopper, "Sourdough loaf", quantity=2)
    shopper.press("Book Bread-making class", "page cart after booking")
    assert shopper.path == "/cart/the-bakery/"
    expect(shopper.page.get_by_role("status")).to_contain_text("Booked: Bread-making class")

    shopper.visit("/shop/community-garden/", "shop: Community Garden")
    add_to_cart(shopper, "Heritage tomato seeds")

    shopper.follow(CART_LINK, "overview", within=shopper.nav)
    assert shopper.path == "/cart/"
    expect(main).to_contain_text("4 items in 2 carts")
    bakery = main.locator("section.cart-section", has_text="The Bakery")
    garden = main.locator("section.cart-section", has_text="Community Garden")
    expect(bakery).to_contain_text("Sourdough loaf")
    expect(bakery).to_contain_text("Bread-making class")
    expect(garden).to_contain_text("Heritage tomato seeds")
    shopper.screenshot("overview")

    shopper.follow("Go to your cart for The Bakery", "page cart: The Bakery")
    assert shopper.path == "/cart/the-bakery/"
    expect(main.get_by_label("Quantity of Sourdough loaf")).to_have_value("2")
    expect(main.locator("tfoot")).to_contain_text("£44.00")
    shopper.screenshot("page-cart")

    shopper.press("Check out and pay £44.00", "sandbox: hosted payment page")
    assert shopper.path.startswith("/sumup-sandbox/pay/")
    ref = pay_in_sandbox(shopper, "£44.00")
    expect(main).to_contain_text("We have received your payment of £44.00")
    shopper.screenshot("return-page")

    shopper.follow(re.compile(r"^See order "), "order page (paid)")
    assert shopper.path == f"/orders/{ref}"
    expect(main.locator("dd.order-status")).to_have_text("Paid")
    bookings = main.locator("table.order-bookings")
    expect(bookings.locator("tr", has_text="Bread-making class")).to_contain_text("Confirmed")
    expect(main.locator("table.order-payments")).to_contain_text("Paid (receipt ")
    shopper.screenshot("order-page")

    # The Bakery's cart is cleared by the payment; the garden's is as it was.
    shopper.visit("/cart/the-bakery/", "page cart: The Bakery, after paying")
    expect(main).to_contain_text("Your cart for The Bakery is empty")
    shopper.visit("/cart/community-garden/", "page cart: Community Garden, untouched")
    expect(main.get_by_label("Quantity of Heritage tomato seeds")).to_have_value("1")
    expect(shopper.button("Check out and pay £2.50")).to_be_visible()
    shopper.follow("Your orders", "orders list", within=shopper.nav)
    expect(main.locator("tr", has_text="The Bakery")).to_contain_text("Paid")

    if shopper.server.redis_url:
        event = wait_for_paid_event(shopper.server.redis_url, ref)
        assert json.loads(event["payload"])["total_minor"] == 4400


def test_declined_card_leaves_the_order_waiting_in_the_cart_and_paying_again_pays_it(
    open_shopper: ShopperFactory,
) -> None:
    shopper = open_shopper()
    main = shopper.main

    shopper.visit("/shop/the-bakery/", "shop: The Bakery")
    add_to_cart(shopper, "Cinnamon bun", quantity=3)
    shopper.visit("/cart/the-bakery/", "page cart: The Bakery")
    shopper.press("Check out and pay £8.25", "sandbox: hosted payment page")

    # The card issuer declines the test card: the hosted page says so and stays.
    shopper.page.get_by_label("Card number").fill("4000 0000 0000 0002")
    shopper.press("Pay £8.25", "sandbox: declined by the card")
    assert shopper.path.startswith("/sumup-sandbox/pay/")
    expect(main).to_contain_text("Declined by the card issuer (test card)")
    # The shopper gives up on SumUp's page: Decline, back to the shop's return page.
    shopper.press("Decline", "return page (declined)")
    assert shopper.path.startswith("/checkout/return/")
    ref = order_ref(shopper)
    expect(shopper.page.get_by_role("heading", level=1)).to_contain_text("did not go through")
    expect(main).to_contain_text("Nothing was charged")

    # The cart shows the waiting order, with Pay, instead of a second checkout.
    shopper.follow(CART_LINK, "overview (order waiting)", within=shopper.nav)
    shopper.follow("Go to your cart for The Bakery", "page cart: order waiting")
    panel = main.locator("section.pending-order")
    expect(panel).to_contain_text(re.compile(rf"Order {ORDER_NUMBER.pattern} is waiting"))
    expect(panel).to_contain_text("Cinnamon bun ×3")
    expect(shopper.button(re.compile(r"^Check out and pay"))).to_have_count(0)

    shopper.press(re.compile(r"^Pay £8\.25 for order "), "sandbox: paying again", within=panel)
    assert pay_in_sandbox(shopper, "£8.25") == ref

    shopper.follow(re.compile(r"^See order "), "order page (paid after a decline)")
    expect(main.locator("dd.order-status")).to_have_text("Paid")
    payments = main.locator("table.order-payments tbody tr")
    expect(payments).to_have_count(2)
    expect(payments.nth(0)).to_contain_text("Declined: nothing was charged")
    expect(payments.nth(1)).to_contain_text("Paid (receipt ")
    shopper.visit("/cart/the-bakery/", "page cart: after paying again")
    expect(main).to_contain_text("Your cart for The Bakery is empty")


def test_signing_in_adopts_the_anonymous_cart(open_shopper: ShopperFactory) -> None:
    shopper = open_shopper()
    main = shopper.main

    shopper.visit("/shop/community-garden/", "shop: Community Garden")
    add_to_cart(shopper, "Compost, 20 litres", quantity=2)
    shopper.visit("/shop/", "shop: the co-op's own")
    add_to_cart(shopper, "Co-op mug")

    shopper.visit("/demo/sign-in", "demo sign-in")
    expect(shopper.page.get_by_role("radio", name=re.compile(r"^Alice \("))).to_be_checked()
    shopper.press("Sign in", "overview, signed in")
    assert shopper.path == "/cart/"
    expect(shopper.page.get_by_role("status")).to_contain_text("Signed in as Alice.")
    expect(main.locator("section.cart-section", has_text="Community Garden")).to_contain_text(
        "Compost, 20 litres"
    )
    expect(main.get_by_label("Quantity of Co-op mug")).to_have_value("1")

    # The lines are Alice's now, not the browser's: gone when she signs out, back when she
    # signs in again.
    shopper.visit("/demo/sign-in", "demo sign-in, signed in")
    shopper.press("Sign out", "shops, signed out", within=main)
    shopper.visit("/cart/", "overview, signed out")
    expect(main).to_contain_text("Your cart is empty")
    shopper.visit("/demo/sign-in", "demo sign-in, again")
    shopper.press("Sign in", "overview, signed in again")
    expect(main.locator("section.cart-section", has_text="Community Garden")).to_contain_text(
        "Compost, 20 litres"
    )
    expect(main.get_by_label("Quantity of Co-op mug")).to_have_value("1")
