"""One order's page: /orders/<public_ref>, and its "Check payment status" button."""

from quart import Blueprint

bp = Blueprint("order", __name__, url_prefix="/orders")

from bp.order import routes  # noqa: E402  (registers the routes on `bp`)

__all__ = ["bp", "routes"]
