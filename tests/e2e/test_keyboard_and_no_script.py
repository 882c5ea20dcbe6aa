"""A checkout done with the keyboard alone, and one with JavaScript turned off."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.shopper import KeyboardShopper, NoScriptShopper, ShopperFactory
from tests.e2e.steps import CART_LINK, ORDER_NUMBER, add_to_cart, pay_in_sandbox


def test_checkout_by_keyboard_only(open_shopper: ShopperFactory) -> None:
    """Tab, Shift+Tab and Enter; no click. The address of the first page is typed in."""
    shopper = open_shopper(KeyboardShopper)
    assert isinstance(shopper, KeyboardShopper)
    main = shopper.main

    shopper.visit("/shop/community-garden/", "shop: Community Garden (keyboard)")
    shopper.tab_to("Add Compost, 20 litres to cart")
    shopper.enter("shop after adding (keyboard)")
    expect(shopper.page.get_by_role("status")).to_contain_text("Added 1 × Compost, 20 litres")

    shopper.tab_to(CART_LINK)
    shopper.enter("overview (keyboard)")
    assert shopper.path == "/cart/"
    shopper.tab_to("Go to your cart for Community Garden")
    shopper.enter("page cart: Community Garden (keyboard)")
    assert shopper.path == "/cart/community-garden/"
    expect(main.get_by_label("Quantity of Compost, 20 litres")).to_have_value("1")

    # Enter in a quantity field updates the quantities (not the line's Remove button).
    shopper.tab_to("Quantity of Compost, 20 litres")
    shopper.page.keyboard.press("Control+A")
    shopper.page.keyboard.type("2")
    shopper.enter("page cart after changing the quantity (keyboard)")
    expect(shopper.page.get_by_role("status")).to_contain_text(
        "Compost, 20 litres: quantity changed to 2."
    )
    expect(main.get_by_label("Quantity of Compost, 20 litres")).to_have_value("2")

    shopper.tab_to("Check out and pay £13.00")
    shopper.enter("sandbox: hosted payment page (keyboard)")
    assert shopper.path.startswith("/sumup-sandbox/pay/")
    # One step too far, to Decline, and back with Shift+Tab.
    shopper.tab_to("Decline")
    shopper.tab_to("Pay £13.00", backwards=True)
    shopper.enter("return page (paid, keyboard)")
    assert shopper.path.startswith("/checkout/return/")
    expect(shopper.page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"Thank you, order {ORDER_NUMBER.pattern} is paid")
    )

    shopper.tab_to(re.compile(r"See order .+"))
    shopper.enter("order page (paid, keyboard)")
    expect(main.locator("dd.order-status")).to_have_text("Paid")
    expect(main).to_contain_text("Compost, 20 litres")


def test_checkout_with_javascript_turned_off(open_shopper: ShopperFactory) -> None:
    shopper = open_shopper(NoScriptShopper, javascript=False)
    main = shopper.main

    shopper.visit("/shop/the-bakery/", "shop: The Bakery (no JavaScript)")
    add_to_cart(shopper, "Rye crackers")
    shopper.press("Book Pastry morning", "page cart after booking (no JavaScript)")
    assert shopper.path == "/cart/the-bakery/"
    expect(main).to_contain_text("Pastry morning")

    quantity = main.get_by_label("Quantity of Rye crackers")
    quantity.fill("3")
    shopper.press("Update quantities", "page cart after changing (no JavaScript)")
    expect(main).to_contain_text("Rye crackers: quantity changed to 3.")
    expect(main.get_by_label("Quantity of Rye crackers")).to_have_value("3")
    expect(main.locator("tfoot")).to_contain_text("£34.60")

    shopper.press("Check out and pay £34.60", "sandbox: hosted payment page (no JavaScript)")
    ref = pay_in_sandbox(shopper, "£34.60")
    shopper.follow(re.compile(r"^See order "), "order page (paid, no JavaScript)")
    assert shopper.path == f"/orders/{ref}"
    expect(main.locator("dd.order-status")).to_have_text("Paid")
    expect(main.locator("table.order-bookings tr", has_text="Pastry morning")).to_contain_text(
        "Confirmed"
    )
    shopper.visit("/cart/the-bakery/", "page cart: after paying (no JavaScript)")
    expect(main).to_contain_text("Your cart for The Bakery is empty")
