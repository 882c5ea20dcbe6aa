"""Whose orders are whose: the one condition every order page filters by."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from models.order import Order
from shared.interfaces import Owner
from shared.statements import belongs_to


def orders_of(owner: Owner) -> ColumnElement[bool]:
    """A user's orders by user id; an anonymous session's only while no user has adopted
    them. Signing in moves the recent and pending ones to the user (adopt_orders.py) and
    retires the anonymous id (identity.py): those left under it are nobody's to see."""
    return belongs_to(Order, user_id=owner.user_id, session_id=owner.session_id)
