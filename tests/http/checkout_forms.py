"""Reading a cart page's checkout form the way a browser would submit it."""

from __future__ import annotations

import html as html_lib
import re

TOKEN = "cart-csrf-token-" + "z" * 20


async def start_session(client, anon_id: str, **values) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        session["cart_anon_id"] = anon_id
        session.update(values)


def checkout_forms(page: str) -> list[tuple[str, dict[str, str]]]:
    """(action, fields) of every checkout form on the page."""
    forms = re.findall(
        r'<form method="post" action="([^"]+)" class="checkout-form">(.*?)</form>', page, re.S
    )
    return [
        (
            html_lib.unescape(action),
            {
                name: html_lib.unescape(value)
                for name, value in re.findall(
                    r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body
                )
            },
        )
        for action, body in forms
    ]


async def rendered_checkout_form(client, cart_path: str) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The one checkout form of the cart page at `cart_path`, as just rendered."""
    response = await client.get(cart_path)
    assert response.status_code == 200
    [form] = checkout_forms(await response.get_data(as_text=True))
    return form
