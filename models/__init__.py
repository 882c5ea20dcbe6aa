"""The cart domain's own tables."""

from models.cart_item import CartItem
from models.page_config import PageConfig

__all__ = ["CartItem", "PageConfig"]
