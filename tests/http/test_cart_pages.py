"""The page cart /cart/<page>/ and the overview /cart/, as a shopper sees them."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Product
from tests.factories import Factory
from tests.http.cart_form import cart_form_body, cart_form_fields

TOKEN = "cart-csrf-token-" + "z" * 20
ANON_ID = "anon-" + "a" * 20
CLASS_STARTS = datetime(2030, 5, 4, 10, 0, tzinfo=UTC)


async def start_session(client, **values) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        session["cart_anon_id"] = ANON_ID
        session.update(values)


async def page_html(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    assert response.status_code == 200, path
    return await response.get_data(as_text=True)


@pytest.fixture
async def cart(factory: Factory, db: AsyncSession) -> dict[str, int]:
    """Bakery: bread ×2, jam ×1 (no longer sold), a class booked; arts: paint; site: a mug."""
    bakery = (await factory.page(slug="bakery", title="Bakery")).id
    arts = (await factory.page(slug="arts", title="Arts centre")).id
    bread = (await factory.product(page_id=bakery, title="Bread", price_minor=250)).id
    jam = (await factory.product(page_id=bakery, title="Jam", price_minor=400)).id
    paint = (await factory.product(page_id=arts, title="Paint", price_minor=1099)).id
    mug = (await factory.product(page_id=None, title="Co-op mug", price_minor=800)).id
    calendar_id = (await factory.calendar(page_id=bakery)).id
    slot_id = (
        await factory.slot(
            calendar_id=calendar_id,
            title="Baking class",
            price_minor=1500,
            starts_at=CLASS_STARTS,
            ends_at=CLASS_STARTS + timedelta(hours=3),
        )
    ).id
    await factory.entry(slot_id=slot_id, session_id=ANON_ID)
    ids = {"bakery": bakery, "arts": arts, "bread": bread, "jam": jam, "mug": mug}
    for product_id, page_id, quantity in (
        (bread, bakery, 2),
        (jam, bakery, 1),
        (paint, arts, 1),
        (mug, None, 3),
    ):
        line = await factory.cart_item(
            product_id=product_id, page_id=page_id, session_id=ANON_ID, quantity=quantity
        )
        ids[f"line_{product_id}"] = line.id
    await db.execute(update(Product).where(Product.id == jam).values(available=False))
    await db.commit()
    return ids


def forms_of(html: str) -> list[str]:
    return re.findall(r"<form\b.*?</form>", html, flags=re.S)


async def test_page_cart_shows_lines_bookings_line_totals_and_the_page_total(  # type: ignore[no-untyped-def]
    client, cart
) -> None:
    await start_session(client)
    html = await page_html(client, "/cart/bakery/")

    assert "<h1>Your cart for Bakery</h1>" in html
    assert "Bread" in html and "£2.50 each" in html and "£5.00" in html
    assert "Baking class" in html and "1 place" in html and "£15.00" in html
    # Bread 2 × £2.50 + the class £15.00; the jam is no longer sold and is not counted.
    assert re.search(r"Total</th>\s*<td class=\"money\"><strong>£20.00</strong>", html)
    assert "No longer available" in html and "are not counted in the total" in html
    # Other pages' lines are not on this page's cart.
    assert "Paint" not in html and "Co-op mug" not in html


async def test_the_booking_shows_when_it_takes_place(client, cart) -> None:  # type: ignore[no-untyped-def]
    await start_session(client)
    html = await page_html(client, "/cart/bakery/")
    # 10:00 UTC is 11:00 in London in May (the site's time zone), and says so.
    assert "Booking: Sat 4 May 2030, 11:00–14:00 BST" in html


async def test_every_form_carries_the_csrf_token_and_every_input_has_a_label(  # type: ignore[no-untyped-def]
    client, cart
) -> None:
    await start_session(client)
    for path in ("/cart/bakery/", "/cart/"):
        html = await page_html(client, path)
        forms = forms_of(html)
        assert forms, path
        for form in forms:
            assert f'<input type="hidden" name="csrf_token" value="{TOKEN}">' in form
            for input_id in re.findall(r'<input id="([^"]+)"', form):
                assert f'<label for="{input_id}">' in form


async def test_one_cart_form_with_quantities_for_available_lines_and_remove_buttons_for_all(  # type: ignore[no-untyped-def]
    client, cart
) -> None:
    await start_session(client)
    html = await page_html(client, "/cart/bakery/")
    bread_line, jam_line = cart[f"line_{cart['bread']}"], cart[f"line_{cart['jam']}"]

    # One form for the whole cart (its checkout has its own), one CSRF token in it.
    assert len(re.findall(r'action="/cart/lines"', html)) == 1
    assert cart_form_body(html).count('name="csrf_token"') == 1
    assert cart_form_fields(html) == {
        "csrf_token": TOKEN,
        "next": "/cart/bakery/",
        f"quantity-{bread_line}": "2",
    }
    # GOV.UK's numbers: a text field with the numeric keyboard; the server checks the value.
    assert (
        f'id="quantity-{bread_line}" name="quantity-{bread_line}" type="text" inputmode="numeric"'
        in html
    )
    assert f'name="remove" value="{bread_line}"' in html
    # An item no longer sold can be removed, but its quantity cannot be changed.
    assert f'name="quantity-{jam_line}"' not in html
    assert f'name="remove" value="{jam_line}"' in html


async def test_overview_has_a_section_per_page_with_totals_and_a_link_to_its_cart(  # type: ignore[no-untyped-def]
    client, cart
) -> None:
    await start_session(client)
    html = await page_html(client, "/cart/")

    assert "7 items in 3 carts" in html  # mugs 3 + bread 2 + class 1 + paint 1 (+ jam: no)
    site, arts, bakery = (html.index(t) for t in ("Site shop", "Arts centre", ">Bakery<"))
    assert site < arts < bakery
    assert 'href="/cart/bakery/">Go to your cart for Bakery' in html
    assert 'href="/cart/arts/">Go to your cart for Arts centre' in html
    for total in ("£24.00", "£10.99", "£20.00"):  # site, arts, bakery
        assert f"<strong>{total}</strong>" in html


async def test_the_site_level_cart_is_edited_on_the_overview(client, cart) -> None:  # type: ignore[no-untyped-def]
    await start_session(client)
    html = await page_html(client, "/cart/")
    mug_line, bread_line = cart[f"line_{cart['mug']}"], cart[f"line_{cart['bread']}"]

    assert f'name="quantity-{mug_line}"' in cart_form_body(html)
    assert f'name="remove" value="{mug_line}"' in cart_form_body(html)
    # Page lines are edited on their page's cart, where that page's checkout is.
    assert f'name="quantity-{bread_line}"' not in html
    assert f'name="remove" value="{bread_line}"' not in html


async def test_empty_carts_get_a_friendly_message(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    await factory.page(slug="bakery", title="Bakery")
    await start_session(client)

    assert "Your cart is empty." in await page_html(client, "/cart/")
    page = await page_html(client, "/cart/bakery/")
    assert "Your cart for Bakery is empty." in page
    assert 'href="/shop/bakery/">Continue shopping at Bakery' in page


@pytest.mark.parametrize("path", ["/cart/no-such-page/", "/cart/has%20space/", "/cart/%00/"])
async def test_an_unknown_page_is_a_404_page(client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    assert response.status_code == 404
    assert "There is no shop page at this address." in await response.get_data(as_text=True)


async def test_an_anonymous_visitor_browsing_the_cart_gets_no_cookie(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    await factory.page(slug="bakery", title="Bakery")
    for path in ("/cart/", "/cart/bakery/", "/cart/summary.json"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path


async def test_titles_are_escaped(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    page_id = (await factory.page(slug="odd", title="<i>Odd</i> page")).id
    product_id = (await factory.product(page_id=page_id, title="<script>x()</script>")).id
    await factory.cart_item(product_id=product_id, page_id=page_id, session_id=ANON_ID)
    await start_session(client)

    html = await page_html(client, "/cart/odd/")

    assert "<script>x()</script>" not in html and "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "&lt;i&gt;Odd&lt;/i&gt; page" in html


async def test_a_signed_in_user_sees_their_own_cart(client, factory: Factory, cart) -> None:  # type: ignore[no-untyped-def]
    user_id = (await factory.user()).id
    honey = (await factory.product(page_id=cart["bakery"], title="Honey", price_minor=600)).id
    await factory.cart_item(product_id=honey, page_id=cart["bakery"], user_id=user_id, quantity=2)
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        session["user_id"] = user_id  # no anonymous cart to adopt

    html = await page_html(client, "/cart/bakery/")

    assert "Honey" in html and "£12.00" in html
    assert "Bread" not in html and "Baking class" not in html


def test_every_template_context_processor_is_async(app) -> None:  # type: ignore[no-untyped-def]
    """A synchronous one (Flask's default, which each blueprint carries) would run in a
    worker thread at every render of the blueprint's pages (Quart's ensure_async)."""
    processors = [p for found in app.app.template_context_processors.values() for p in found]
    assert processors and all(inspect.iscoroutinefunction(p) for p in processors)
