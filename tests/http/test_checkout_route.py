"""The checkout form on the cart pages and POST /cart/<page>/checkout, /cart/checkout."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order, PaymentAttempt
from shared.http_client import HTTP_CLIENT_KEY
from shared.models import CalendarSlot, Product
from tests.contract.calendar_data import stored_entries
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, checkout_forms, rendered_checkout_form, start_session
from tests.integration.checkout_data import ANON, BakeryCart, bakery_cart, count_rows, line_orders

ANON_ID = ANON.session_id
CART_ORIGIN = "http://127.0.0.1:8002"  # app_urls.cart in config/app-config.yaml


@pytest.fixture
async def bakery(factory: Factory) -> BakeryCart:
    return await bakery_cart(factory)


async def orders(db: AsyncSession) -> list[tuple[str, str, int, int | None]]:
    """(number, public_ref, total, page) of every order, as committed now."""
    await db.rollback()
    rows = await db.execute(
        select(Order.number, Order.public_ref, Order.total_minor, Order.page_id).order_by(Order.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def shown_after(client, response) -> str:  # type: ignore[no-untyped-def]
    """The page a browser shows after following the redirect (and its flash messages)."""
    assert response.status_code == 303
    followed = await client.get(response.headers["Location"])
    return await followed.get_data(as_text=True)


def payment_service_down(app) -> None:  # type: ignore[no-untyped-def]
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app.app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(transport=httpx.MockTransport(refuse))


async def test_the_page_cart_has_a_checkout_form_for_its_total(client, bakery) -> None:  # type: ignore[no-untyped-def]
    await start_session(client, ANON_ID)
    page = await (await client.get("/cart/bakery/")).get_data(as_text=True)

    [(action, fields)] = checkout_forms(page)
    assert action == "/cart/bakery/checkout"
    assert fields["csrf_token"] == TOKEN and fields["next"] == "/cart/bakery/"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", fields["checkout_key"])
    assert re.fullmatch(r"[0-9a-f]{32}", fields["fingerprint"])
    assert "Check out and pay £24.00</button>" in page


async def test_every_rendering_has_its_own_key_and_the_same_fingerprint(client, bakery) -> None:  # type: ignore[no-untyped-def]
    await start_session(client, ANON_ID)
    _, first = await rendered_checkout_form(client, "/cart/bakery/")
    _, second = await rendered_checkout_form(client, "/cart/bakery/")
    assert first["checkout_key"] != second["checkout_key"]
    assert first["fingerprint"] == second["fingerprint"]


async def test_the_overview_has_the_site_carts_checkout_and_each_pages(  # type: ignore[no-untyped-def]
    client, factory: Factory, bakery
) -> None:
    mug = (await factory.product(page_id=None, title="Co-op mug", price_minor=800)).id
    await factory.cart_item(product_id=mug, session_id=ANON_ID, quantity=3)
    await start_session(client, ANON_ID)
    page = await (await client.get("/cart/")).get_data(as_text=True)

    assert [action for action, _ in checkout_forms(page)] == [
        "/cart/checkout",
        "/cart/bakery/checkout",
    ]
    assert "Check out and pay £24.00</button>" in page  # the mugs, and the bakery's cart


async def test_a_cart_mixing_currencies_has_no_checkout_but_says_why(  # type: ignore[no-untyped-def]
    client, factory: Factory, bakery
) -> None:
    crepe = (await factory.product(page_id=bakery.page_id, title="Crêpe", currency="EUR")).id
    await factory.cart_item(product_id=crepe, page_id=bakery.page_id, session_id=ANON_ID)
    await start_session(client, ANON_ID)
    page = await (await client.get("/cart/bakery/")).get_data(as_text=True)

    assert checkout_forms(page) == []
    assert "This cart has prices in EUR and GBP" in page


async def test_a_cart_of_only_products_no_longer_sold_has_no_checkout(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    gone = (await factory.product(page_id=None, title="Old mug", available=False)).id
    await factory.cart_item(product_id=gone, session_id=ANON_ID)
    await start_session(client, ANON_ID)
    assert checkout_forms(await (await client.get("/cart/")).get_data(as_text=True)) == []


async def test_when_payment_cannot_start_the_order_is_kept_and_the_shopper_can_pay_again(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, bakery
) -> None:
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")
    working_http = app.app.extensions[HTTP_CLIENT_KEY]
    payment_service_down(app)

    response = await client.post(action, form=fields)

    [(number, public_ref, total, _)] = await orders(db)
    assert total == 2400
    assert (await stored_entries(db, bakery.entry_id))[bakery.entry_id].state == "ordered"
    return_page = f"{CART_ORIGIN}/checkout/return/{public_ref}"
    assert response.status_code == 303 and response.headers["Location"] == return_page
    page = await (await client.get(return_page.removeprefix(CART_ORIGIN))).get_data(as_text=True)
    assert (
        f"The payment service did not answer. Your order {number} is saved; "
        "please try paying again in a moment."
    ) in page
    assert f"Order {number}" in page and "Bread" in page
    assert f'action="/checkout/{public_ref}/pay-again"' in page

    # The service answers again: "Pay again" goes to the payment page of the same order.
    app.app.extensions[HTTP_CLIENT_KEY] = working_http
    again = await client.post(f"/checkout/{public_ref}/pay-again", form={"csrf_token": TOKEN})
    pay_url = await db.scalar(
        select(PaymentAttempt.hosted_checkout_url).where(
            PaymentAttempt.hosted_checkout_url.is_not(None)
        )
    )
    assert again.status_code == 303 and again.headers["Location"] == pay_url
    assert len(await orders(db)) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("price", "Your cart changed since the page was shown"),
        ("unavailable", "Sorry, Jam cannot be bought any more."),
        ("sold out", "Sorry, Baking class is sold out: its last place has just been taken."),
    ],
)
async def test_a_refused_checkout_goes_back_to_the_cart_with_the_reason_and_no_order(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, change: str, message: str
) -> None:
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")
    if change == "price":
        await db.execute(
            update(Product).where(Product.id == bakery.bread_id).values(price_minor=260)
        )
    elif change == "unavailable":
        await db.execute(update(Product).where(Product.id == bakery.jam_id).values(available=False))
    else:
        await db.execute(update(CalendarSlot).values(places=0))
    await db.commit()

    response = await client.post(action, form=fields)

    assert response.headers["Location"] == "/cart/bakery/"
    page = await shown_after(client, response)
    assert message in page and "Nothing was ordered." in page
    assert await orders(db) == []
    assert set((await line_orders(db)).values()) == {None}
    assert (await stored_entries(db, bakery.entry_id))[bakery.entry_id].state == "pending"


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"checkout_key": None}, "This checkout form has expired."),
        ({"checkout_key": "short"}, "This checkout form has expired."),
        ({"fingerprint": None}, "This checkout form has expired."),
        ({"fingerprint": "not hex"}, "Your cart changed since the page was shown"),
    ],
)
async def test_a_mangled_form_is_refused_with_a_message(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, changed: dict[str, str | None], message: str
) -> None:
    await start_session(client, ANON_ID)
    action, rendered = await rendered_checkout_form(client, "/cart/bakery/")
    sent = {name: value for name, value in (rendered | changed).items() if value is not None}

    response = await client.post(action, form=sent)

    assert message in await shown_after(client, response)
    assert await orders(db) == []


async def test_without_the_csrf_token_nothing_is_ordered(client, db: AsyncSession, bakery) -> None:  # type: ignore[no-untyped-def]
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")
    response = await client.post(action, form={**fields, "csrf_token": "forged"})
    assert response.status_code == 400
    assert await orders(db) == []


async def test_an_unknown_page_is_refused(client, db: AsyncSession, bakery) -> None:  # type: ignore[no-untyped-def]
    await start_session(client, ANON_ID)
    _, fields = await rendered_checkout_form(client, "/cart/bakery/")
    for slug in ("no-such-page", "bad%20slug"):
        response = await client.post(f"/cart/{slug}/checkout", form=fields)
        assert "There is no shop page at this address." in await shown_after(client, response)
    assert await orders(db) == []


async def test_a_visitor_with_no_cart_is_told_there_is_nothing_to_pay(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory
) -> None:
    await factory.page(slug="bakery", title="Bakery")
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
    form = {
        "csrf_token": TOKEN,
        "checkout_key": "k" * 32,
        "fingerprint": "0" * 32,
        "next": "/cart/",
    }

    response = await client.post("/cart/checkout", form=form)

    assert "There is nothing in this cart to pay for." in await shown_after(client, response)
    assert await count_rows(db, Order) == 0


async def test_a_refusal_never_sends_the_shopper_to_another_site(
    client, db: AsyncSession, bakery
) -> None:  # type: ignore[no-untyped-def]
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")
    response = await client.post(
        action, form={**fields, "fingerprint": "f" * 32, "next": "//evil.example/"}
    )
    assert response.status_code == 303
    assert not response.headers["Location"].startswith("//")
    assert "evil" not in response.headers["Location"]


async def test_checking_out_makes_the_order_and_sends_the_shopper_to_pay_it(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")

    response = await client.post(action, form=fields)

    [(number, public_ref, total, page_id)] = await orders(db)
    assert (total, page_id) == (2400, bakery.page_id)
    [(pay_url, amount, status)] = (
        await db.execute(
            select(
                PaymentAttempt.hosted_checkout_url,
                PaymentAttempt.amount_minor,
                PaymentAttempt.status,
            )
        )
    ).all()
    assert (amount, status) == (2400, "PENDING")
    assert response.status_code == 303 and response.headers["Location"] == pay_url
    # The sandbox's hosted page is where SumUp's would be: it shows what is to be paid.
    assert pay_url.startswith(f"{CART_ORIGIN}/sumup-sandbox/")
    assert (await stored_entries(db, bakery.entry_id))[bakery.entry_id].state == "ordered"
    assert set((await line_orders(db)).values()) == {
        (await db.scalar(select(Order.id).where(Order.public_ref == public_ref)))
    }
    assert number


async def test_a_double_submitted_form_makes_one_order_and_offers_the_same_payment(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    await start_session(client, ANON_ID)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")

    first = await client.post(action, form=fields)
    second = await client.post(action, form=fields)

    assert len(await orders(db)) == 1
    assert await count_rows(db, PaymentAttempt) == 1
    assert first.headers["Location"] == second.headers["Location"]
