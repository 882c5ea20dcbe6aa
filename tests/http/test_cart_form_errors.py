"""The cart form's quantities refused, as GOV.UK's error pattern has it: the page the form
came from rendered again (400, nothing changed) with an error summary linking each bad
field, each bad field's message above it, and every field keeping what was typed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Factory
from tests.http.cart_form import CART_FORM_ACTION, cart_form_fields, updating
from tests.http.test_cart_form import quantities
from tests.http.test_cart_lines import ANON_ID, start_session

PAGE = "/cart/bakery/"
OVERVIEW = "/cart/"
SCRIPT_TITLE = "<script>alert(1)</script> buns"
JSON = {"Accept": "application/json"}


def message_for(title: str) -> str:
    """What a bad field says (bp/cart/services/errors.py quantity_field), beside it and in
    the summary, which says once that nothing was changed."""
    return f"Enter the quantity of {title} as a whole number from 1 to 99"


def refusal_for(title: str) -> str:
    """The whole refusal (quantity_invalid_for) a JSON answer or a flash gives."""
    return (
        f"Please enter the quantity of {title} as a whole number from 1 to 99. Nothing was changed."
    )


@pytest.fixture
async def lines(factory: Factory) -> dict[str, int]:
    """Three lines in the Bakery's cart (one of them titled with markup), one in the site's."""
    page_id = (await factory.page(slug="bakery", title="Bakery")).id
    made = {}
    for name, title, quantity in [
        ("bread", "Bread", 2),
        ("jam", "Jam", 1),
        ("buns", SCRIPT_TITLE, 1),
    ]:
        product = await factory.product(page_id=page_id, title=title, price_minor=250)
        line = await factory.cart_item(
            product_id=product.id, page_id=page_id, session_id=ANON_ID, quantity=quantity
        )
        made[name] = line.id
    for name, title in [("honey", "Honey"), ("tea", "Tea")]:
        product = await factory.product(page_id=None, title=title, price_minor=500)
        line = await factory.cart_item(
            product_id=product.id, page_id=None, session_id=ANON_ID, quantity=1
        )
        made[name] = line.id
    return made


async def page_html(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    assert response.status_code == 200
    return await response.get_data(as_text=True)


def cart_count(html: str) -> str:
    found = re.search(r'data-cart-count="(\d+)"', html)
    assert found, "no cart count in the header"
    return found.group(1)


def summary_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of each link of the error summary, in order."""
    found = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert found, "no error summary"
    return re.findall(r'<li><a href="([^"]+)">(.*?)</a></li>', found.group(1))


def field_error(html: str, line_id: int) -> str | None:
    """The error message shown above a line's quantity field, or None."""
    found = re.search(
        rf'<p class="error-message" id="quantity-{line_id}-error">'
        r'<span class="visually-hidden">Error:</span> (.*?)</p>',
        html,
    )
    return found.group(1) if found else None


async def test_two_bad_quantities_render_the_page_again_with_both_errors_and_all_typed(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    before = await page_html(client, PAGE)
    sent = updating(
        before,
        **{
            f"quantity-{lines['bread']}": "abc",
            f"quantity-{lines['jam']}": "5",
            f"quantity-{lines['buns']}": "1000",
        },
    )
    response = await client.post(CART_FORM_ACTION, form=sent)

    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert "<title>Error: Your cart · Bakery · " in html
    # The summary comes first in <main>, before the heading, one link per bad field in the
    # order of the form, each naming its product.
    main = html[html.index('<main id="main"') :]
    assert main.index('class="error-summary" role="alert"') < main.index("<h1>")
    assert 'aria-labelledby="error-summary-title"' in main and 'tabindex="-1"' in main
    assert '<h2 id="error-summary-title">There is a problem</h2>' in main
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; buns"
    assert summary_links(html) == [
        (f"#quantity-{lines['bread']}", message_for("Bread")),
        (f"#quantity-{lines['buns']}", message_for(escaped)),
    ]
    # Each bad field: marked, its message above its input, and the input described by it.
    assert field_error(html, lines["bread"]) == message_for("Bread")
    assert field_error(html, lines["buns"]) == message_for(escaped)
    assert field_error(html, lines["jam"]) is None
    assert html.count('class="quantity-controls field--error"') == 2
    for name in ("bread", "buns"):
        line_id = lines[name]
        field = re.search(rf'<input id="quantity-{line_id}"[^>]*>', html)
        assert field and f'aria-describedby="quantity-{line_id}-error"' in field.group(0)
        assert html.index(f'id="quantity-{line_id}-error"') < html.index(
            f'<input id="quantity-{line_id}"'
        )
    assert "aria-describedby" not in re.search(
        rf'<input id="quantity-{lines["jam"]}"[^>]*>', html
    ).group(0)  # type: ignore[union-attr]
    assert "<script>" not in html
    # Every field keeps what was typed, good or bad; the form still goes back to this page.
    fields = cart_form_fields(html)
    assert fields[f"quantity-{lines['bread']}"] == "abc"
    assert fields[f"quantity-{lines['jam']}"] == "5"
    assert fields[f"quantity-{lines['buns']}"] == "1000"
    assert fields["next"] == PAGE
    # Nothing changed, and the header counts the cart as it is.
    assert await quantities(db) == {
        lines["bread"]: 2,
        lines["jam"]: 1,
        lines["buns"]: 1,
        lines["honey"]: 1,
        lines["tea"]: 1,
    }
    assert cart_count(html) == cart_count(before)


async def test_what_was_typed_is_escaped_in_the_field(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    typed = '"><img src=x onerror=alert(1)>'
    sent = updating(await page_html(client, PAGE), **{f"quantity-{lines['jam']}": typed})
    response = await client.post(CART_FORM_ACTION, form=sent)

    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert "<img src=x" not in html
    assert cart_form_fields(html)[f"quantity-{lines['jam']}"] == typed
    assert summary_links(html) == [(f"#quantity-{lines['jam']}", message_for("Jam"))]


async def test_the_overviews_site_section_likewise(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    before = await page_html(client, OVERVIEW)
    sent = updating(before, **{f"quantity-{lines['honey']}": "0", f"quantity-{lines['tea']}": "3"})
    assert sent["next"] == OVERVIEW
    response = await client.post(CART_FORM_ACTION, form=sent)

    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert "<title>Error: Your cart · " in html
    assert summary_links(html) == [(f"#quantity-{lines['honey']}", message_for("Honey"))]
    assert field_error(html, lines["honey"]) == message_for("Honey")
    fields = cart_form_fields(html)
    assert fields[f"quantity-{lines['honey']}"] == "0"
    assert fields[f"quantity-{lines['tea']}"] == "3"
    assert fields["next"] == OVERVIEW
    assert "Bakery" in html  # the rest of the overview is there as before
    assert (await quantities(db))[lines["tea"]] == 1
    assert cart_count(html) == cart_count(before)


async def test_a_good_update_still_redirects_back(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    sent = updating(await page_html(client, PAGE), **{f"quantity-{lines['jam']}": "4"})
    response = await client.post(CART_FORM_ACTION, form=sent)

    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert (await quantities(db))[lines["jam"]] == 4
    html = await page_html(client, PAGE)
    assert "Jam: quantity changed to 4." in html
    assert "error-summary" not in html and "<title>Your cart · Bakery" in html


async def test_json_answers_as_before_with_the_first_bad_quantity(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines
) -> None:
    await start_session(client)
    sent = updating(
        await page_html(client, PAGE),
        **{f"quantity-{lines['bread']}": "x", f"quantity-{lines['jam']}": "0"},
    )
    response = await client.post(CART_FORM_ACTION, form=sent, headers=JSON)

    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "quantity_invalid_for",
        "message": refusal_for("Bread"),
    }
    assert (await quantities(db))[lines["bread"]] == 2


@pytest.mark.parametrize("next_url", ["/orders/", "/cart/no-such-shop", "http://127.0.0.1:8001/"])
async def test_a_form_from_anywhere_else_is_refused_with_a_flash_as_before(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, lines, next_url: str
) -> None:
    await start_session(client)
    sent = {
        **updating(await page_html(client, PAGE), **{f"quantity-{lines['jam']}": "x"}),
        "next": next_url,
    }
    response = await client.post(CART_FORM_ACTION, form=sent)

    assert response.status_code == 302 and response.headers["Location"] == next_url
    assert (await quantities(db))[lines["jam"]] == 1
    html = await page_html(client, PAGE)
    assert refusal_for("Jam") in html and "error-summary" not in html
