"""`next` and the Referer never put a control character, non-ASCII or another site into a
Location header (issue 8, item 3): every route that redirects after a form goes to its own
default instead, and the change the form asked for is still made.

Before, `\\x0b` and `\\x0c` reached Location and hypercorn answered 500 after the add, the
quantity change, the removal or the checkout refusal was done; the other control bytes,
C1 and U+2028 went out as they were; `http://[x/` was a 500 in urlsplit. Requests are sent
as ASGI with the bytes given (tests/http/raw_asgi.py): the test client would refuse some.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem, Order, PaymentAttempt
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN
from tests.http.raw_asgi import RawResponse, send_raw, session_cookie
from tests.integration.checkout_data import ANON, BakeryCart, bakery_cart
from tests.integration.payment_data import entry_state, live_line_ids, placed_bakery_order
from tests.unsafe_urls import UNSAFE_BACK_URLS, UNSAFE_REFERERS, as_header

HOST = b"127.0.0.1:8002"
# For the routes that never read `next` or the Referer: a few of each kind is enough.
SOME_OF_EACH_KIND = {
    url
    for text in (
        "/shop/bakery/\x00x",
        "/shop/bakery/\x0bx",
        "/shop/bakery/\x0cx",
        "/shop/bakery/\x7fx",
        "/shop/bakery/\x85x",
        "/shop/bakery/\u2028x",
        "/\\evil.example/",
        "//evil.example/",
        " //evil.example/",
        "http://[::1/",
    )
    for url in (text, as_header(text))
}
OVERVIEW = "/cart/"
BAKERY_CART = "/cart/bakery/"


def clean(location: bytes | None) -> bool:
    """A Location of visible ASCII only: nothing a server refuses or a browser rewrites."""
    return location is not None and all(0x21 <= byte <= 0x7E for byte in location)


class Shopper:
    """The anonymous shopper of tests.integration.checkout_data, posting forms as a browser
    would, from the same session every time."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app.app
        self.cookie = session_cookie(
            self.app, {"csrf_token": TOKEN, "cart_anon_id": ANON.session_id}
        )

    async def post(
        self, path: str, form: dict[str, str], referer: bytes | None = None
    ) -> RawResponse:
        body = urlencode({"csrf_token": TOKEN, **form}).encode("ascii")
        headers = [
            (b"host", HOST),
            (b"cookie", self.cookie),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode("ascii")),
        ]
        if referer is not None:
            headers.append((b"referer", referer))
        return await send_raw(self.app, "POST", path, headers, body)


async def wrong_answers(
    shopper: Shopper,
    path: str,
    form: dict[str, str],
    *,
    status: int,
    to: set[str],
    via: str,
    some: bool = False,
) -> list[tuple[str, int, bytes | None]]:
    """Posts `form` once per unsafe value (as `next`, or as the Referer; `some`: a few of
    each kind); the answers that are not `status` to one of `to` with a clean Location."""
    wrong = []
    values: list[str] | list[bytes] = UNSAFE_BACK_URLS if via == "next" else UNSAFE_REFERERS
    if some:
        values = [value for value in values if value in SOME_OF_EACH_KIND]
    for value in values:
        if isinstance(value, str):
            response = await shopper.post(path, {**form, "next": value})
        else:
            response = await shopper.post(path, form, referer=value)
        location = response.header("location")
        if (
            response.status != status
            or not clean(location)
            or (location or b"").decode("latin-1") not in to
        ):
            wrong.append((ascii(value), response.status, location))
    return wrong


@pytest.fixture
async def bakery(factory: Factory) -> BakeryCart:
    """Bread ×2 and jam ×1 in the anonymous shopper's bakery cart, one baking class place."""
    return await bakery_cart(factory)


@pytest.fixture
def shopper(app) -> Shopper:  # type: ignore[no-untyped-def]
    return Shopper(app)


async def quantities(db: AsyncSession) -> dict[int, int]:
    await db.rollback()
    rows = await db.execute(
        select(CartItem.product_id, CartItem.quantity).where(CartItem.deleted_at.is_(None))
    )
    return {product: quantity for product, quantity in rows}


async def test_add_with_an_unsafe_next_adds_and_goes_to_the_pages_cart(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory, bakery: BakeryCart
) -> None:
    # Two products, so that the adds stay under the largest quantity of a line (99).
    half = len(UNSAFE_BACK_URLS) // 2
    rolls = (await factory.product(page_id=bakery.page_id, title="Rolls")).id
    buns = (await factory.product(page_id=bakery.page_id, title="Buns")).id
    wrong = []
    for product, values in ((rolls, UNSAFE_BACK_URLS[:half]), (buns, UNSAFE_BACK_URLS[half:])):
        for value in values:
            response = await shopper.post("/cart/add", {"product_id": str(product), "next": value})
            location = response.header("location")
            if response.status != 302 or location != BAKERY_CART.encode():
                wrong.append((ascii(value), response.status, location))

    assert wrong == []
    stored = await quantities(db)
    assert (stored[rolls], stored[buns]) == (half, len(UNSAFE_BACK_URLS) - half)


@pytest.mark.parametrize("via", ["next", "Referer"])
async def test_a_refused_add_with_an_unsafe_next_or_referer_goes_to_the_cart(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, bakery: BakeryCart, via: str
) -> None:
    form = {"product_id": "not-a-product"}

    wrong = await wrong_answers(shopper, "/cart/add", form, status=302, to={OVERVIEW}, via=via)

    assert wrong == []
    assert await quantities(db) == {bakery.bread_id: 2, bakery.jam_id: 1}


@pytest.mark.parametrize("via", ["next", "Referer"])
async def test_a_quantity_change_with_an_unsafe_next_or_referer_is_made_and_goes_to_the_cart(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, bakery: BakeryCart, via: str
) -> None:
    path = f"/cart/lines/{bakery.bread_line}/quantity"

    wrong = await wrong_answers(
        shopper, path, {"quantity": "3"}, status=302, to={OVERVIEW}, via=via
    )

    assert wrong == []
    assert await quantities(db) == {bakery.bread_id: 3, bakery.jam_id: 1}


@pytest.mark.parametrize("via", ["next", "Referer"])
async def test_a_removal_with_an_unsafe_next_or_referer_is_made_and_goes_to_the_cart(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, bakery: BakeryCart, via: str
) -> None:
    path = f"/cart/lines/{bakery.jam_line}/remove"

    # The first removes the line; the rest are refused (not in the cart): the same way back.
    wrong = await wrong_answers(shopper, path, {}, status=302, to={OVERVIEW}, via=via)

    assert wrong == []
    assert await live_line_ids(db) == {bakery.bread_line}


@pytest.mark.parametrize("via", ["next", "Referer"])
async def test_a_booking_removal_with_an_unsafe_next_or_referer_is_made_and_goes_to_the_cart(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, bakery: BakeryCart, via: str
) -> None:
    path = f"/cart/bookings/{bakery.entry_id}/remove"

    wrong = await wrong_answers(shopper, path, {}, status=302, to={OVERVIEW}, via=via)

    assert wrong == []
    assert await entry_state(db, bakery.entry_id) == "cancelled"


@pytest.mark.parametrize("path", ["/cart/bakery/checkout", "/cart/checkout"])
@pytest.mark.parametrize("via", ["next", "Referer"])
async def test_a_refused_checkout_with_an_unsafe_next_or_referer_goes_to_the_cart(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, bakery: BakeryCart, path: str, via: str
) -> None:
    expired_form = {"checkout_key": "k", "fingerprint": "f"}

    wrong = await wrong_answers(shopper, path, expired_form, status=303, to={OVERVIEW}, via=via)

    assert wrong == []
    await db.rollback()
    assert (await db.scalars(select(Order.id))).all() == []


@pytest.mark.parametrize("via", ["next", "Referer"])
async def test_pay_again_ignores_next_and_referer_and_goes_to_the_one_hosted_checkout(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory, via: str
) -> None:
    # pay-again never reads either; this holds that it stays so.
    placed = await placed_bakery_order(db, factory)
    path = f"/checkout/{placed.public_ref}/pay-again"
    first = await shopper.post(path, {})
    hosted = (first.header("location") or b"").decode("latin-1")
    assert first.status == 303 and "/sumup-sandbox/pay/" in hosted

    wrong = await wrong_answers(shopper, path, {}, status=303, to={hosted}, via=via, some=True)

    assert wrong == []
    await db.rollback()
    attempts = await db.scalars(
        select(PaymentAttempt.id).where(PaymentAttempt.order_id == placed.order_id)
    )
    assert len(attempts.all()) == 1


@pytest.mark.parametrize("via", ["next", "Referer"])
async def test_give_up_ignores_next_and_referer_and_goes_to_the_cart_or_the_order(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory, via: str
) -> None:
    # give-up never reads either; this holds that it stays so. The first gives the order up
    # (to the cart); the rest find it given up already (to the order's page).
    placed = await placed_bakery_order(db, factory)
    path = f"/orders/{placed.public_ref}/give-up"
    order_page = f"/orders/{placed.public_ref}"

    wrong = await wrong_answers(
        shopper, path, {}, status=303, to={BAKERY_CART, order_page}, via=via, some=True
    )

    assert wrong == []
    await db.rollback()
    assert await db.scalar(select(Order.status).where(Order.id == placed.order_id)) == "cancelled"
