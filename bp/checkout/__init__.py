"""Paying an order: SumUp's webhook, the page the shopper returns to, and "Pay again"."""

from quart import Blueprint

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

from bp.checkout import routes  # noqa: E402  (registers the routes on `bp`)

__all__ = ["bp", "routes"]
