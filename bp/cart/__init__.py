"""The cart: add, change and remove lines; one page's cart, the overview, the JSON summary."""

from quart import Blueprint

bp = Blueprint("cart", __name__, url_prefix="/cart")

# The route modules register themselves on `bp`.
from bp.cart import (  # noqa: E402
    checkout_routes,
    global_routes,
    overview_routes,
    page_routes,
    template_filters,
)

__all__ = [
    "bp",
    "checkout_routes",
    "global_routes",
    "overview_routes",
    "page_routes",
    "template_filters",
]
