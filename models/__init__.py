"""The cart domain's own tables."""

from models.cart_item import CartItem
from models.order import Order, OrderItem, OrderItemKind, OrderStatus
from models.page_config import PageConfig
from models.payment_attempt import AttemptStatus, PaymentAttempt

__all__ = [
    "AttemptStatus",
    "CartItem",
    "Order",
    "OrderItem",
    "OrderItemKind",
    "OrderStatus",
    "PageConfig",
    "PaymentAttempt",
]
