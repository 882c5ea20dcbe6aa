"""The shopper's orders: /orders/ (the list). One order's page is bp/order."""

from quart import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders")

from bp.orders import routes, template_filters  # noqa: E402  (they register themselves on `bp`)

__all__ = ["bp", "routes", "template_filters"]
