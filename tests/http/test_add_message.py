"""What the shopper reads after an add: what was added, to which shop's cart, and a link to
that cart; the titles escaped, the link kept as a link through the session cookie."""

from __future__ import annotations

from markupsafe import Markup
from quart.sessions import SecureCookieSessionInterface

from tests.factories import Factory

TOKEN = "cart-csrf-token-" + "z" * 20
ANON_ID = "anon-" + "a" * 20


async def start_session(client) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        session["cart_anon_id"] = ANON_ID


async def shown_after(client, path: str) -> str:  # type: ignore[no-untyped-def]
    return await (await client.get(path)).get_data(as_text=True)


async def test_the_message_names_the_product_the_shop_and_links_its_cart(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    page = await factory.page(slug="garden", title="Garden & Shop")
    compost = await factory.product(page_id=page.id, title="Compost, 20 litres")
    await start_session(client)

    first = await client.post(
        "/cart/add",
        form={"product_id": str(compost.id), "quantity": "2", "csrf_token": TOKEN, "next": "/"},
    )
    assert first.headers["Location"] == "/"  # the shopper stays where they were
    after_first = await shown_after(client, "/cart/")
    await client.post(
        "/cart/add", form={"product_id": str(compost.id), "quantity": "1", "csrf_token": TOKEN}
    )
    after_second = await shown_after(client, "/cart/garden/")

    assert (
        "Added 2 × Compost, 20 litres to your cart for Garden &amp; Shop. "
        '<a href="/cart/garden/">See your cart</a>'
    ) in after_first
    assert (
        "Added 1 × Compost, 20 litres to your cart for Garden &amp; Shop: you now have 3. "
        '<a href="/cart/garden/">See your cart</a>'
    ) in after_second
    # A success is announced politely, in the status region.
    assert '<div class="messages" role="status">' in after_first


async def test_a_site_level_product_links_the_overview(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    mug = await factory.product(page_id=None, title="Co-op mug")
    await start_session(client)

    await client.post("/cart/add", form={"product_id": str(mug.id), "csrf_token": TOKEN})

    html = await shown_after(client, "/cart/")
    assert 'Added 1 × Co-op mug to your cart. <a href="/cart/">See your cart</a>' in html


async def test_a_title_holding_markup_is_escaped_in_the_message(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    page = await factory.page(slug="odd", title="<b>Odd</b> shop")
    odd = await factory.product(page_id=page.id, title="<script>alert(1)</script>")
    await start_session(client)

    await client.post("/cart/add", form={"product_id": str(odd.id), "csrf_token": TOKEN})

    html = await shown_after(client, "/cart/odd/")
    assert "<script>alert(1)</script>" not in html and "<b>Odd</b>" not in html
    assert (
        "Added 1 × &lt;script&gt;alert(1)&lt;/script&gt; to your cart for "
        '&lt;b&gt;Odd&lt;/b&gt; shop. <a href="/cart/odd/">See your cart</a>'
    ) in html


async def test_the_message_stays_markup_in_the_session_cookie(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    bread = await factory.product(page_id=None, title="Bread <&>")
    await start_session(client)

    await client.post("/cart/add", form={"product_id": str(bread.id), "csrf_token": TOKEN})

    # What the next request reads back from the signed cookie: Quart's serializer tags a
    # Markup, so it comes back as one (a plain str would be escaped, link and all).
    async with client.session_transaction() as session:
        [(category, message)] = session["_flashes"]
    assert category == "success" and isinstance(message, Markup)
    assert message == Markup(
        'Added 1 × Bread &lt;&amp;&gt; to your cart. <a href="/cart/">See your cart</a>'
    )
    # And the app's own cookie serializer, both ways.
    serializer = SecureCookieSessionInterface().get_signing_serializer(client.app)
    assert serializer is not None
    [(_, again)] = serializer.loads(serializer.dumps({"_flashes": [("success", message)]}))[
        "_flashes"
    ]
    assert isinstance(again, Markup) and again == message


async def test_an_add_asked_for_as_json_flashes_nothing_and_answers_plain_data(  # type: ignore[no-untyped-def]
    client, factory: Factory
) -> None:
    page = await factory.page(slug="garden", title="Garden")
    compost = await factory.product(page_id=page.id, title="Compost")
    await start_session(client)

    response = await client.post(
        "/cart/add",
        form={"product_id": str(compost.id), "csrf_token": TOKEN},
        headers={"Accept": "application/json"},
    )

    body = await response.get_json()
    assert body == {"line_id": body["line_id"], "quantity": 1, "cart_url": "/cart/garden/"}
    async with client.session_transaction() as session:
        assert "_flashes" not in session


async def test_a_refusal_is_an_alert_and_plain_text(client, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    gone = await factory.product(page_id=None, title="Old <jam>", available=False)
    await start_session(client)

    await client.post("/cart/add", form={"product_id": str(gone.id), "csrf_token": TOKEN})

    html = await shown_after(client, "/cart/")
    # Announced at once (role=alert), its own region; the title escaped.
    alert = html.split('<div class="messages" role="alert">', 1)[1].split("</div>", 1)[0]
    assert '<p class="message message-error">' in alert and "Old &lt;jam&gt;" in alert
    assert "Old <jam>" not in html
