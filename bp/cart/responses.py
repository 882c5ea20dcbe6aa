"""How the cart's routes answer: refusals as a flash message or JSON, safe redirects back."""

from __future__ import annotations

from typing import Any

from quart import current_app, flash, jsonify, redirect, request, url_for

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
