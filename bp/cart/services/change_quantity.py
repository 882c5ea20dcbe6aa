"""Set the quantity of the shopper's own lines: one line, or the cart form's every line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.errors import CartError
from bp.cart.services.lines import (
    free_lines_of,
    live_lines_query,
    refusal_for_line,
)
from bp.cart.services.load import MISSING_PRODUCT_TITLE
from bp.cart.services.parsing import parse_quantity
from models.cart_item import CartItem
from shared.interfaces import Owner
from shared.models import utcnow
from shared.registry import services
from shared.statements import fetch_all, owner_params


class QuantitiesInvalid(CartError):
    """The cart form's quantities that are not whole numbers in range: every one of them, so
    that the page can mark each field (GOV.UK's error summary), not only the first.

    As a CartError it is the first of them (`quantity_invalid_for`, naming its product), so
    a JSON answer or a flashed message reads as for any single refusal.
    """

    def __init__(self, invalid: Mapping[int, str], *, max_quantity: int) -> None:
        super().__init__(
            "quantity_invalid_for", title=next(iter(invalid.values())), max_quantity=max_quantity
        )
        # line id -> what its field says, naming its product (`quantity_field`), in the order
        # the form sent them (not `messages`: that is CodedError's table of codes)
        self.by_line: dict[int, str] = {
            line_id: CartError("quantity_field", title=title, max_quantity=max_quantity).message
            for line_id, title in invalid.items()
        }


@dataclass(frozen=True)
class QuantityChanged:
    line_id: int
    title: str  # the product's, so that the shopper is told which line changed
    quantity: int


async def change_quantity(
    session: AsyncSession,
    *,
    owner: Owner | None,
    line_id: int,
    quantity: int,
    max_quantity: int,
) -> QuantityChanged:
    """One conditional UPDATE: only the owner's free line changes; else `line_unknown`.
    Then its product's title, for the message (one read, in the same transaction)."""
    if not 1 <= quantity <= max_quantity:
        raise CartError("quantity_invalid", max_quantity=max_quantity)
    if owner is None:  # an anonymous visitor with no cart owns no line
        raise CartError("line_unknown")
    product_id = await _set_free_line_quantity(session, owner, line_id, quantity)
    if product_id is None:
        raise CartError(await refusal_for_line(session, owner=owner, line_id=line_id))
    product = await services.market.get_product(session, product_id)
    await session.commit()
    return QuantityChanged(line_id, product.title if product else MISSING_PRODUCT_TITLE, quantity)


async def _set_free_line_quantity(
    session: AsyncSession, owner: Owner, line_id: int, quantity: int
) -> int | None:
    """One conditional UPDATE: only the owner's free line changes. Its product's id, or
    None: nothing changed."""
    return (
        await session.execute(
            update(CartItem)
            .where(CartItem.id == line_id, free_lines_of(owner))
            .values(quantity=quantity, updated_at=utcnow())
            .returning(CartItem.product_id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()


async def change_quantities(
    session: AsyncSession,
    *,
    owner: Owner | None,
    wanted: Mapping[int, str],
    max_quantity: int,
) -> list[QuantityChanged]:
    """The cart form's "Update quantities": each line of `wanted` (line id -> the quantity as
    typed) whose quantity differs is set to it, all or nothing, and committed.

    Refuses (CartError, nothing changed) a line that is not one of the owner's live lines;
    quantities that are not whole numbers in range (QuantitiesInvalid, every one of them,
    each naming its product); and a line held by a pending order whose quantity was changed.
    Lines left as they were are skipped, held ones included, so a form sent back unchanged
    changes nothing and is no error.
    """
    if owner is None:  # an anonymous visitor with no cart owns no line
        raise CartError("line_unknown")
    query = live_lines_query(signed_in=owner.signed_in, scope="all")
    lines = {row.id: row for row in await fetch_all(session, query, owner_params(owner))}
    if not wanted.keys() <= lines.keys():
        raise CartError("line_unknown")
    products = await services.market.get_products(
        session, {lines[line_id].product_id for line_id in wanted}
    )
    changes: list[QuantityChanged] = []
    invalid: dict[int, str] = {}  # line id -> its product's title
    for line_id, typed in wanted.items():
        product = products.get(lines[line_id].product_id)
        title = product.title if product else MISSING_PRODUCT_TITLE
        try:
            quantity = parse_quantity(typed, max_quantity=max_quantity)
        except CartError:
            invalid[line_id] = title
            continue
        if quantity != lines[line_id].quantity:
            changes.append(QuantityChanged(line_id, title, quantity))
    if invalid:  # nothing was written yet: checked before any UPDATE
        raise QuantitiesInvalid(invalid, max_quantity=max_quantity)
    for change in changes:
        if await _set_free_line_quantity(session, owner, change.line_id, change.quantity) is None:
            reason = await refusal_for_line(session, owner=owner, line_id=change.line_id)
            await session.rollback()
            raise CartError(reason)
    await session.commit()
    return changes
