"""How the cart's routes answer: refusals as a flash message or JSON, safe redirects back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from quart import current_app, flash, jsonify, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from bp.cart.safe_redirect import safe_next
from bp.cart.services.errors import CartError
from shared.errors import wants_json


def safe_url(url: str | None) -> str | None:
    return safe_next(
        url,
        own_origin=f"{request.scheme}://{request.host}",
        sibling_origins=current_app.config["SIBLING_ORIGINS"],
    )


def back_url(form: Any) -> str:
    """Where the shopper came from: the form's `next`, else the Referer, else the cart."""
    return (
        safe_url(form.get("next"))
        or safe_url(request.headers.get("Referer"))
        or url_for("cart.overview")
    )


async def refuse(error: CartError, *, back: str) -> Any:
    """A refused request: JSON with the status, or the message flashed on the way back."""
    if wants_json():
        return jsonify({"error": error.code, "message": error.message}), error.status
    await flash(error.message, "error")
    return redirect(back)


async def done(message: str, *, to: str, json_body: dict[str, Any]) -> Any:
    if wants_json():
        return jsonify(json_body)
    await flash(message, "success")
    return redirect(to)


@dataclass(frozen=True)
class CartFormErrors:
    """The cart form sent back with quantities refused, for its page to render again
    (GOV.UK's error summary and error messages) instead of a flash and a redirect."""

    messages: Mapping[int, str]  # line id -> what is wrong with its quantity, in form order
    typed: Mapping[int, str]  # line id -> what the shopper typed, in every quantity field

    @property
    def summary(self) -> dict[str, str]:
        """The error summary's links: field id (the cart form's `quantity-<line id>`) -> message."""
        return {f"quantity-{line_id}": message for line_id, message in self.messages.items()}


def cart_view(url: str) -> tuple[str, Mapping[str, Any]] | None:
    """Which of this service's cart views a (safe) `next` names: ("cart.page",
    {"page_slug": ...}) or ("cart.overview", {}), matched by the app's own URL rules; None
    for any other page or origin (a sibling's shop page, say)."""
    parts = urlsplit(url)
    if parts.netloc and f"{parts.scheme}://{parts.netloc}" != f"{request.scheme}://{request.host}":
        return None
    adapter = current_app.create_url_adapter(request)
    try:
        endpoint, args = adapter.match(parts.path, method="GET") if adapter else ("", {})
    except HTTPException:  # no such page, or one only reached by a redirect
        return None
    return (endpoint, args) if endpoint in {"cart.page", "cart.overview"} else None
