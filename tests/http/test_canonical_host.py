"""Development answers on one host name, APP_URL_CART's (shared/canonical_host.py).

Reported: a shop opened as `localhost` instead of `127.0.0.1` kept its cart in a cookie the
return page's host never saw, so after paying the return page said 404. Here a browser-like
client (cookies per host name, as a browser keeps them) walks that journey through ASGI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import CartItem, Order
from shared.config import Settings, load_settings
from shared.db import make_sessionmaker
from tests.conftest import ArrivingFromOutside
from tests.factories import Factory
from tests.multiprocess.browser import Browser

CART = "http://127.0.0.1:8002"  # app_urls.cart in config/app-config.yaml
OTHER_NAME = "http://localhost:8002"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The tests' settings with the redirect on, as `make run` has it."""
    return settings.with_overrides(canonical_host_redirect=True)


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=ArrivingFromOutside(app.app))
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
async def bakery(factory: Factory) -> int:
    page = await factory.page(slug="bakery", title="Bakery")
    bread = await factory.product(page_id=page.id, title="Sourdough", price_minor=350)
    return bread.id


async def test_another_host_name_is_sent_to_app_url_carts_with_its_path_and_query(
    http: httpx.AsyncClient,
) -> None:
    answers = {
        url: await http.request(method, url)
        for method, url in [
            ("GET", f"{OTHER_NAME}/cart/bakery/?page=2&q=caf%C3%A9"),
            ("HEAD", f"{OTHER_NAME}/orders/"),
            ("GET", "http://[::1]:8002/shop/bakery/"),
            ("GET", "http://127.0.0.1:9001/cart/"),  # the same name, another port
            ("GET", "http://LOCALHOST:8002/no/such/page"),
        ]
    }

    assert {url: (a.status_code, a.headers.get("location")) for url, a in answers.items()} == {
        f"{OTHER_NAME}/cart/bakery/?page=2&q=caf%C3%A9": (
            308,
            f"{CART}/cart/bakery/?page=2&q=caf%C3%A9",
        ),
        f"{OTHER_NAME}/orders/": (308, f"{CART}/orders/"),
        "http://[::1]:8002/shop/bakery/": (308, f"{CART}/shop/bakery/"),
        "http://127.0.0.1:9001/cart/": (308, f"{CART}/cart/"),
        "http://LOCALHOST:8002/no/such/page": (308, f"{CART}/no/such/page"),
    }


async def test_app_url_carts_own_host_is_served_and_the_probes_under_any_name(
    http: httpx.AsyncClient,
) -> None:
    statuses = [
        (await http.get(url)).status_code
        for url in (
            f"{CART}/cart/",
            "http://127.0.0.1/cart/",  # no port: taken as APP_URL_CART's (see the module)
            f"{OTHER_NAME}/healthz",
            f"{OTHER_NAME}/readyz",
        )
    ]

    assert statuses == [200, 200, 200, 200]


async def test_a_form_posted_under_another_name_is_refused_and_says_where_to_go(
    http: httpx.AsyncClient, bakery: int, db: AsyncSession
) -> None:
    browser = Browser(http)
    shop = await browser.open(f"{CART}/shop/bakery/")
    add = shop.form("Add Sourdough")
    # The same form, posted to the other name (a page kept open from before, say).
    on_the_other_name = add.action.replace(CART, OTHER_NAME)
    refused = await http.post(on_the_other_name, data=add.fields)
    as_json = await http.post(
        on_the_other_name, data=add.fields, headers={"Accept": "application/json"}
    )

    assert refused.status_code == 400
    assert (
        f"This shop answers at {CART}, not at localhost:8002, where your browser keeps another "
        f"session. Nothing was done. Please open {CART}/cart/ and try again from there."
    ) in refused.text.replace("&#39;", "'")
    assert (as_json.status_code, as_json.json()["error"]) == (
        400,
        "That request could not be understood",
    )
    assert await db.scalar(select(func.count()).select_from(CartItem)) == 0


async def test_opened_as_localhost_the_shopper_pays_and_comes_back_to_the_order(
    http: httpx.AsyncClient, bakery: int, db: AsyncSession
) -> None:
    browser = Browser(http)
    shop = await browser.open(f"{OTHER_NAME}/shop/bakery/")
    assert shop.redirects == [(308, f"{CART}/shop/bakery/")] and shop.status == 200

    await browser.submit(shop.form("Add Sourdough"), quantity="2")
    cart = await browser.open(f"{CART}/cart/bakery/")
    hosted = await browser.submit(cart.form("Check out and pay"))
    back = await browser.submit(hosted.form("Pay"))

    number = await db.scalar(select(Order.number))
    assert number is not None
    assert hosted.url.startswith(f"{CART}/sumup-sandbox/pay/")
    assert back.status == 200 and back.url.startswith(f"{CART}/checkout/return/")
    assert f"Thank you, order {number} is paid" in back.text
    orders = await browser.open(f"{OTHER_NAME}/orders/")
    assert orders.url == f"{CART}/orders/" and number in orders.text


@pytest.fixture
def without_the_redirect(settings: Settings) -> Settings:
    return settings.with_overrides(canonical_host_redirect=False)


async def test_without_the_redirect_the_return_page_is_the_404_reported(
    without_the_redirect: Settings, engine: AsyncEngine, bakery: int, db: AsyncSession
) -> None:
    """What the issue saw: the cart on localhost, the return page on 127.0.0.1."""
    from app import create_app
    from shared.http_client import HTTP_CLIENT_KEY

    quart_app = create_app(without_the_redirect)
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    transport = httpx.ASGITransport(app=ArrivingFromOutside(quart_app))
    quart_app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(transport=transport, base_url=CART)
    async with quart_app.test_app(), httpx.AsyncClient(transport=transport) as http:
        browser = Browser(http)
        shop = await browser.open(f"{OTHER_NAME}/shop/bakery/")
        await browser.submit(shop.form("Add Sourdough"), quantity="2")
        cart = await browser.open(f"{OTHER_NAME}/cart/bakery/")
        hosted = await browser.submit(cart.form("Check out and pay"))
        back = await browser.submit(hosted.form("Pay"))

    assert shop.redirects == []
    assert (await db.scalar(select(Order.status))) == "paid"  # paid, and yet:
    assert back.status == 404 and "We could not find that order." in back.text


async def test_production_leaves_host_names_to_its_proxy(
    database_url: str, var_dir: Path, engine: AsyncEngine
) -> None:
    from app import create_app

    production = load_settings(
        {
            "APP_MODE": "production",
            "SECRET_KEY": "p" * 40,
            "DATABASE_URL_ASYNC": database_url,
            "CART_VAR_DIR": str(var_dir),
            "CANONICAL_HOST_REDIRECT": "true",  # development only
        }
    )
    quart_app = create_app(production)
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    async with quart_app.test_app():
        transport = httpx.ASGITransport(app=ArrivingFromOutside(quart_app))
        async with httpx.AsyncClient(transport=transport) as http:
            answer = await http.get(f"{OTHER_NAME}/cart/")

    assert answer.status_code == 200
