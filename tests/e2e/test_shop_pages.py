"""A shop people trust (issue 11): the header says what is in the cart and who is signed in,
a flash after an add leads to the cart, the cart's lines lead back to the shop, the return
and order pages say what happens next, and their tables keep their labels on a phone.

`make screenshots` runs the first journey with E2E_SCREENSHOTS_DIR=docs/screenshots: its
page cart and order page, at 390 and 1280 px, are the README's pictures.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.checks import DESKTOP, PHONE, table_cells, unlabelled_on_a_phone
from tests.e2e.shopper import Shopper, ShopperFactory
from tests.e2e.steps import add_to_cart, pay_in_sandbox

ORDER_TABLES = ("table.order-lines", "table.order-bookings", "table.order-payments")


def header_count(shopper: Shopper) -> str | None:
    return shopper.page.locator("a.site-header__cart").get_attribute("data-cart-count")


def summary_count(shopper: Shopper) -> int:
    """The item count of GET /cart/summary.json, with the shopper's cookies."""
    response = shopper.page.request.get(shopper.server.url + "/cart/summary.json")
    return int(response.json()["item_count"])


def expect_labels_on_a_phone(shopper: Shopper, *selectors: str) -> None:
    shopper.page.set_viewport_size(PHONE)
    for selector in selectors:
        problems = unlabelled_on_a_phone(shopper.page, selector)
        assert not problems, f"{shopper.path} {selector} at 390 px:\n" + "\n".join(problems)


def expect_money_right_aligned_on_a_desktop(shopper: Shopper, *selectors: str) -> None:
    shopper.page.set_viewport_size(DESKTOP)
    for selector in selectors:
        money = [cell for cell in table_cells(shopper.page, selector) if cell.money]
        assert money, f"{shopper.path}: no money column in {selector}"
        assert {cell.align for cell in money} <= {"right", "end"}, (selector, money)
    shopper.page.set_viewport_size(PHONE)


def test_readme_journey_header_count_labels_and_what_happens_next(
    open_shopper: ShopperFactory,
) -> None:
    shopper = open_shopper()
    main = shopper.main

    shopper.visit("/shop/the-bakery/", "shop: The Bakery (tiles)")
    assert header_count(shopper) == "0"
    products = main.locator("section", has=shopper.page.get_by_role("heading", name="Products"))
    expect(products.locator(".tile")).to_have_count(3)
    add_to_cart(shopper, "Sourdough loaf", quantity=2)
    assert header_count(shopper) == "2"
    # The flash names what was added and leads to that page's cart.
    status = shopper.page.get_by_role("status")
    expect(status.get_by_role("link", name=re.compile("cart", re.I))).to_have_attribute(
        "href", "/cart/the-bakery/"
    )
    shopper.press("Book Bread-making class", "page cart after booking")
    assert header_count(shopper) == "3"
    expect(shopper.nav.locator("a.site-header__cart")).to_have_accessible_name("Cart 3 items")

    # A line's title leads back to where it was bought.
    expect(main.get_by_role("link", name="Sourdough loaf", exact=True)).to_have_attribute(
        "href", "/shop/the-bakery/"
    )
    shopper.screenshot("page-cart", readme=True)

    shopper.press("Check out and pay £44.00", "sandbox: hosted payment page")
    hosted_page = shopper.path
    pay_in_sandbox(shopper, "£44.00")
    expect(main.get_by_role("heading", name="What happens next")).to_be_visible()
    expect(main).to_contain_text("Bread-making class")
    expect_labels_on_a_phone(shopper, "table.order-lines")
    expect_money_right_aligned_on_a_desktop(shopper, "table.order-lines")
    assert header_count(shopper) == "0"  # the cart was cleared by the payment
    return_page = shopper.path

    # SumUp's (the sandbox's) page of the checkout, opened again: paid, nothing to press.
    shopper.visit(hosted_page, "sandbox: the checkout, paid")
    expect(shopper.page.get_by_role("heading", level=1)).to_have_text("Paid £44.00")
    expect(shopper.button("Pay £44.00")).to_have_count(0)
    shopper.visit(return_page, "return page (paid), again")

    shopper.follow(re.compile(r"^See order "), "order page (paid)")
    expect(main.get_by_role("heading", name="What happens next")).to_be_visible()
    # The booking's time says its zone (the site's, Europe/London: GMT or BST).
    expect(main.locator("table.order-bookings")).to_contain_text(re.compile(r"\b(GMT|BST)\b"))
    expect_labels_on_a_phone(shopper, *ORDER_TABLES)
    expect_money_right_aligned_on_a_desktop(shopper, "table.order-lines", "table.order-payments")
    shopper.screenshot("order-page", readme=True)

    shopper.follow("Your orders", "orders list", within=shopper.nav)
    expect_labels_on_a_phone(shopper, "table.orders")
    expect_money_right_aligned_on_a_desktop(shopper, "table.orders")


def test_the_header_names_who_is_signed_in_and_signs_them_out(
    open_shopper: ShopperFactory,
) -> None:
    shopper = open_shopper()
    header = shopper.page.locator("header.site-header")

    shopper.visit("/shop/community-garden/", "shop: Community Garden")
    add_to_cart(shopper, "Compost, 20 litres", quantity=2)
    shopper.follow("Sign in", "demo sign-in", within=header)
    shopper.press("Sign in", "overview, signed in")
    expect(header).to_contain_text("Signed in as Alice")
    # Alice's cart now holds the anonymous one too (and what other journeys left in it):
    # the header says what the summary says.
    assert header_count(shopper) == str(summary_count(shopper))

    shopper.visit("/orders/", "orders list, signed in")
    shopper.press("Sign out", "shops, signed out", within=header)
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    assert header_count(shopper) == "0"


def test_the_overview_is_read_only_and_leads_to_each_page_cart(
    open_shopper: ShopperFactory,
) -> None:
    shopper = open_shopper()
    main = shopper.main

    shopper.visit("/shop/the-bakery/", "shop: The Bakery")
    add_to_cart(shopper, "Rye crackers")
    shopper.press("Book Bread-making class", "page cart after booking")
    shopper.visit("/cart/", "overview: products and a booking")

    bakery = main.locator("section.cart-section", has_text="The Bakery")
    expect(bakery).to_contain_text("Bread-making class")
    expect(bakery.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
    expect(bakery.get_by_role("textbox")).to_have_count(0)
    expect(bakery.get_by_role("link", name="Go to your cart for The Bakery")).to_be_visible()


def test_bad_quantities_come_back_with_an_error_summary_that_leads_to_each_field(
    open_shopper: ShopperFactory,
) -> None:
    shopper = open_shopper()
    main = shopper.main

    shopper.visit("/shop/community-garden/", "shop: Community Garden")
    add_to_cart(shopper, "Heritage tomato seeds")
    add_to_cart(shopper, "Compost, 20 litres")
    shopper.visit("/cart/community-garden/", "page cart: Community Garden")
    main.get_by_label("Quantity of Heritage tomato seeds").fill("two")
    main.get_by_label("Quantity of Compost, 20 litres").fill("3")
    shopper.press("Update quantities", "page cart: a quantity refused", refused=True)

    assert shopper.page.title().startswith("Error: ")
    summary = main.locator(".error-summary")
    # Focused as the page loads (autofocus, no script); the checks have tabbed on since.
    expect(summary).to_have_attribute("autofocus", "")
    expect(summary).to_contain_text("Nothing was changed")
    # What was typed stays, the bad and the good; the link leads to the bad field.
    seeds = main.get_by_label("Quantity of Heritage tomato seeds")
    expect(seeds).to_have_value("two")
    expect(main.get_by_label("Quantity of Compost, 20 litres")).to_have_value("3")
    summary.get_by_role("link", name=re.compile("Heritage tomato seeds")).click()
    expect(seeds).to_be_focused()
    expect(seeds).to_have_accessible_description(re.compile("whole number from 1 to"))
