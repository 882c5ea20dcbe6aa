"""What a browser sends when a button of a cart page's one form is pressed (cart.update_cart)."""

from __future__ import annotations

import html as html_lib
import re

CART_FORM_ACTION = "/cart/lines"
_CART_FORM = re.compile(
    r'<form method="post" action="' + CART_FORM_ACTION + r'" class="cart-form">(.*?)</form>', re.S
)
_INPUT = re.compile(r"<input\b[^>]*>")
_NAME = re.compile(r'\bname="([^"]+)"')
_VALUE = re.compile(r'\bvalue="([^"]*)"')


def cart_form_body(page: str) -> str:
    """The cart form's markup; AssertionError when the page has none."""
    found = _CART_FORM.search(page)
    assert found, "no cart form on the page"
    return found.group(1)


def cart_form_fields(page: str) -> dict[str, str]:
    """The cart form's fields as the page fills them in: hidden ones and quantities."""
    fields = {}
    for tag in _INPUT.findall(cart_form_body(page)):
        name, value = _NAME.search(tag), _VALUE.search(tag)
        if name and value:
            fields[name.group(1)] = html_lib.unescape(value.group(1))
    return fields


def pressing(page: str, button: str, value: str | int, **typed: str) -> dict[str, str]:
    """The cart form's submission when its `button` (name) with `value` is pressed, after
    typing `typed` (field name -> text) into it."""
    body = cart_form_body(page)
    assert f'name="{button}" value="{value}"' in body, (button, value)
    return {**cart_form_fields(page), **typed, button: str(value)}


def updating(page: str, **typed: str) -> dict[str, str]:
    """The cart form's submission by "Update quantities" (a button with no name)."""
    assert ">Update quantities</button>" in cart_form_body(page)
    return {**cart_form_fields(page), **typed}
