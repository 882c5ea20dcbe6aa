"""Every page's header: the whole cart's item count (the summary's) and who is signed in.

bp/cart/site_header.py; the markup is templates/base.html's `site-header__cart`.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import QueryCounter
from tests.factories import Factory

ANON_ID = "anon-" + "h" * 20
TOKEN = "header-csrf-token-" + "h" * 20
_CART_COUNT = re.compile(r'class="site-header__cart"[^>]*data-cart-count="(\d+)"')


async def header_count(client, path: str) -> int | None:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    html = await response.get_data(as_text=True)
    assert 'class="site-header__cart"' in html, html[:500]
    found = _CART_COUNT.search(html)
    return int(found.group(1)) if found else None


async def as_anonymous_shopper(client) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["cart_anon_id"] = ANON_ID
        session["csrf_token"] = TOKEN


async def a_cart_on_two_pages(factory: Factory) -> tuple[str, str]:
    """Bakery: 2 breads, a booking, an unavailable product ×5 (not counted); Dairy: 3
    cheeses; the site shop: a mug. The summary's count: 2 + 1 + 3 + 1 = 7."""
    bakery = await factory.page(slug="bakery", title="Bakery")
    dairy = await factory.page(slug="dairy", title="Dairy")
    for page_id, quantity, available in ((bakery.id, 2, True), (bakery.id, 5, False)):
        product = await factory.product(page_id=page_id, available=available)
        await factory.cart_item(
            product_id=product.id, page_id=page_id, session_id=ANON_ID, quantity=quantity
        )
    cheese = await factory.product(page_id=dairy.id)
    await factory.cart_item(product_id=cheese.id, page_id=dairy.id, session_id=ANON_ID, quantity=3)
    mug = await factory.product(page_id=None)
    await factory.cart_item(product_id=mug.id, page_id=None, session_id=ANON_ID, quantity=1)
    slot = await factory.slot(calendar_id=(await factory.calendar(page_id=bakery.id)).id)
    await factory.entry(slot_id=slot.id, session_id=ANON_ID)
    return bakery.slug, dairy.slug


@pytest.mark.parametrize(
    "path", ["/cart/bakery/", "/cart/dairy/", "/cart/", "/orders/", "/", "/shop/bakery/"]
)
async def test_every_page_shows_the_whole_carts_count_the_summary_gives(  # type: ignore[no-untyped-def]
    client, factory: Factory, path: str
) -> None:
    await as_anonymous_shopper(client)
    await a_cart_on_two_pages(factory)
    summary = await (await client.get("/cart/summary.json")).get_json()

    assert summary["item_count"] == 7
    assert await header_count(client, path) == 7


async def test_the_page_carts_header_costs_no_statement_of_its_own(  # type: ignore[no-untyped-def]
    client, factory: Factory, query_counter: QueryCounter
) -> None:
    await as_anonymous_shopper(client)
    await a_cart_on_two_pages(factory)

    query_counter.reset()
    assert await header_count(client, "/cart/bakery/") == 7
    # The page, every page's lines, their products, the bookings, the page's pending order:
    # the count is added up from what the page loads anyway.
    assert query_counter.count == 5, query_counter.statements


async def test_a_visitor_who_never_added_anything_costs_no_statement_and_reads_0(  # type: ignore[no-untyped-def]
    client, query_counter: QueryCounter
) -> None:
    query_counter.reset()
    assert await header_count(client, "/orders/") == 0
    # The order list of nobody asks nothing either: no owner, no query.
    assert query_counter.count == 0, query_counter.statements


async def test_an_error_page_asks_the_database_nothing_and_shows_no_count(  # type: ignore[no-untyped-def]
    client, factory: Factory, query_counter: QueryCounter
) -> None:
    await as_anonymous_shopper(client)
    await a_cart_on_two_pages(factory)

    query_counter.reset()
    response = await client.get("/cart/no-such-page/")

    assert response.status_code == 404
    html = await response.get_data(as_text=True)
    assert 'class="site-header__cart"' in html and "data-cart-count" not in html
    assert query_counter.count == 1, query_counter.statements  # the page, by slug


async def test_a_signed_in_user_is_named_with_a_sign_out_form(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    user = await factory.user(display_name="Ada <Lovelace>")
    async with client.session_transaction() as session:
        session["user_id"] = user.id
        session["csrf_token"] = TOKEN

    html = await (await client.get("/cart/")).get_data(as_text=True)

    assert "Ada &lt;Lovelace&gt;" in html and "Ada <Lovelace>" not in html
    sign_out = re.search(r'<form[^>]*action="/demo/sign-out"[^>]*>(.*?)</form>', html, re.S)
    assert sign_out and TOKEN in sign_out.group(1) and "Sign out" in sign_out.group(1)


async def test_nobody_signed_in_gets_a_sign_in_link(client) -> None:  # type: ignore[no-untyped-def]
    html = await (await client.get("/cart/")).get_data(as_text=True)

    assert 'href="/demo/sign-in"' in html
    assert 'action="/demo/sign-out"' not in html


@pytest.fixture
async def production_client(database_url: str, var_dir, engine):  # type: ignore[no-untyped-def]
    """The app in production mode, named and with the footer's contact and terms set."""
    from app import create_app
    from shared.config import load_settings
    from shared.db import make_sessionmaker

    settings = load_settings(
        {
            "APP_MODE": "production",
            "SECRET_KEY": "p" * 40,
            "DATABASE_URL_ASYNC": database_url,
            "CART_VAR_DIR": str(var_dir),
            "APP_URL_BLOG": "https://coop.example",
            "SITE_NAME": "Riverside Food Co-op",
            "SITE_CONTACT_EMAIL": "shop@riverside.example",
            "SITE_TERMS_URL": "https://coop.example/terms",
        }
    )
    app = create_app(settings)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    async with app.test_app() as running:
        yield running.test_client()


async def test_production_signs_in_and_out_at_the_blog_and_names_the_site(  # type: ignore[no-untyped-def]
    production_client, factory: Factory
) -> None:
    anonymous = await (await production_client.get("/cart/")).get_data(as_text=True)
    assert 'href="https://coop.example/auth/login/"' in anonymous
    assert "Riverside Food Co-op" in anonymous
    assert 'href="mailto:shop@riverside.example"' in anonymous
    assert 'href="https://coop.example/terms"' in anonymous

    user = await factory.user(display_name="Bea")
    async with production_client.session_transaction() as session:
        session["user_id"] = user.id
    signed_in = await (await production_client.get("/cart/")).get_data(as_text=True)

    assert "Signed in as <strong>Bea</strong>" in signed_in
    # The blog's page, a link: this service has no sign-out of its own in production.
    assert 'href="https://coop.example/auth/logout/"' in signed_in
    assert "/demo/sign-out" not in signed_in
