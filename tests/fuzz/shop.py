"""The small shop every fuzz test starts from, made the way shoppers make one.

Three shoppers: A (anonymous) has cart lines in two shops and the site-level cart, a booking,
and an order waiting for payment on the bakery (a sandbox checkout open); U (signed in) has
a paid order; S (anonymous) holds the last place of a slot. Their sessions, the ids and
references they own and every form the pages show them are kept, so that the strategies can
send valid, nearly valid and foreign values. After the seed the whole database and the
sandbox are saved; `Fuzzer.run` puts them back whenever a request changed something, so
that every example starts from the same data and a failure replays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from quart import Quart
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings
from sumup.credentials import SANDBOX_API_KEY
from tests.factories import Factory
from tests.fuzz.harness import (
    SANDBOX,
    STATS,
    SURVEY,
    Answer,
    Form,
    FuzzFailure,
    FuzzRequest,
    Snapshot,
    check,
    counted_writes,
    fingerprint,
    forms_on,
    restore,
    sandbox_fingerprint,
    sandbox_state,
    send,
    snapshot,
)

TOKEN_A = "fuzz-token-shopper-a-" + "a" * 20
TOKEN_U = "fuzz-token-user-u-" + "u" * 20
TOKEN_S = "fuzz-token-shopper-s-" + "s" * 20
ANON_A = "fuzz-anon-a-" + "a" * 20
ANON_S = "fuzz-anon-s-" + "s" * 20
ANON_NOBODY = "fuzz-anon-nobody-" + "n" * 15  # a well-formed id that owns nothing
HOST = "localhost"  # the test client's host: own origin http://localhost
SANDBOX_AUTH = f"Bearer {SANDBOX_API_KEY}"


@dataclass(repr=False)
class Shop:
    app: Quart
    engine: AsyncEngine
    settings: Settings
    personas: dict[str, dict[str, Any]]
    values: dict[str, list[str]]  # valid values by path argument / form field name
    forms: list[tuple[str, Form]]  # (persona, form) as rendered for that persona
    saved: Snapshot | None = None
    seed_print: dict[str, tuple[int, str]] = field(default_factory=dict)
    current: dict[str, tuple[int, str]] = field(default_factory=dict)
    strategies: Any = None  # strategies.Strategies, built once per shop

    def __repr__(self) -> str:  # hypothesis prints the test's arguments with a failure
        return "<the seeded shop>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @property
    def cookie_name(self) -> str:
        return str(self.app.config["SESSION_COOKIE_NAME"])

    def signed(self, data: dict[str, Any]) -> str:
        serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        assert serializer is not None
        return str(serializer.dumps(data))

    async def save(self) -> None:
        self.saved = await snapshot(self.engine, self.app)
        self.seed_print = await fingerprint(self.engine, self.app)
        self.current = dict(self.seed_print)

    async def run(self, request: FuzzRequest) -> Answer | None:
        """Send one request from the seeded state and check every invariant."""
        assert self.saved is not None
        changed = {name for name, value in self.current.items() if self.seed_print[name] != value}
        if changed:
            await restore(self.engine, self.app, self.saved, changed)
            self.current = dict(self.seed_print)
        with counted_writes(self.engine) as writes:
            answer = await send(self.app, request)
        if answer is None:
            return None
        before = self.current
        if writes.count or sandbox_fingerprint(self.app) != before[SANDBOX]:
            tables = None if writes.unknown else writes.tables
            self.current = {**before, **await fingerprint(self.engine, self.app, tables)}
        try:
            check(self.app, answer, before, self.current)
        except FuzzFailure as failed:
            if not SURVEY:
                raise
            STATS.survey(failed, request)
        return answer


async def _session(client: Any, data: dict[str, Any]) -> None:
    async with client.session_transaction() as session:
        session.clear()
        session.update(data)


async def _post(client: Any, path: str, fields: dict[str, str], expect: int = 302) -> Any:
    response = await client.post(path, form=fields, headers={"Host": HOST})
    assert response.status_code == expect, (path, response.status_code)
    return response


async def _page(client: Any, path: str) -> str:
    response = await client.get(path, headers={"Host": HOST})
    assert response.status_code == 200, (path, response.status_code)
    return str(await response.get_data(as_text=True))


def _local(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


async def _check_out(client: Any, cart_path: str) -> tuple[str, str]:
    """Checks out the cart at cart_path; (order ref, sandbox checkout id)."""
    [form] = [
        f for f in forms_on(cart_path, await _page(client, cart_path)) if "checkout" in f.action
    ]
    response = await _post(client, form.action, dict(form.fields), expect=303)
    hosted = _local(response.headers["Location"])
    checkout_id = hosted.rsplit("/", 1)[-1]
    return hosted, checkout_id


async def seed_shop(
    app: Any, client: Any, factory: Factory, engine: AsyncEngine, settings: Settings
) -> Shop:
    """The shop, its three shoppers, and what their pages show them."""
    user = await factory.user(email="ursula@example.org", display_name="Ursula")
    bakery = await factory.page(slug="bakery", title="Bakery")
    pottery = await factory.page(slug="pottery", title="Pottery")
    bread = await factory.product(page_id=bakery.id, title="Bread", price_minor=250)
    cake = await factory.product(page_id=bakery.id, title="Cake", price_minor=1100)
    jam = await factory.product(page_id=bakery.id, title="Old jam", available=False)
    mug = await factory.product(page_id=pottery.id, title="Mug", price_minor=1200)
    card = await factory.product(page_id=None, title="Gift card", price_minor=2000)
    calendar = await factory.calendar(page_id=bakery.id)
    class_slot = await factory.slot(calendar_id=calendar.id, title="Bread class", places=5)
    last_place = await factory.slot(calendar_id=calendar.id, title="Cake class", places=1)

    # S takes the last place of the cake class.
    await _session(client, {"csrf_token": TOKEN_S, "cart_anon_id": ANON_S})
    await _post(client, "/shop/bakery/book", {"csrf_token": TOKEN_S, "slot_id": str(last_place.id)})

    # U buys a mug and pays for it on the sandbox's hosted page.
    await _session(client, {"csrf_token": TOKEN_U, "user_id": user.id})
    await _post(client, "/cart/add", {"csrf_token": TOKEN_U, "product_id": str(mug.id)})
    hosted_u, checkout_u = await _check_out(client, "/cart/pottery/")
    await _post(client, f"{hosted_u}/pay", {"csrf_token": TOKEN_U}, expect=303)

    # A fills three carts, books a place, checks out the bakery, then adds more bread.
    await _session(client, {"csrf_token": TOKEN_A, "cart_anon_id": ANON_A})
    for product, quantity in ((bread, 2), (cake, 1), (mug, 1), (card, 1)):
        await _post(
            client,
            "/cart/add",
            {"csrf_token": TOKEN_A, "product_id": str(product.id), "quantity": str(quantity)},
        )
    await _post(client, "/shop/bakery/book", {"csrf_token": TOKEN_A, "slot_id": str(class_slot.id)})
    hosted_a, checkout_a = await _check_out(client, "/cart/bakery/")
    await _post(client, "/cart/add", {"csrf_token": TOKEN_A, "product_id": str(bread.id)})

    personas: dict[str, dict[str, Any]] = {
        "A": {"csrf_token": TOKEN_A, "cart_anon_id": ANON_A},
        "U": {"csrf_token": TOKEN_U, "user_id": user.id},
        "S": {"csrf_token": TOKEN_S, "cart_anon_id": ANON_S},
    }
    pages: dict[str, list[str]] = {
        "A": [
            "/",
            "/shop/",
            "/shop/bakery/",
            "/shop/pottery/",
            "/cart/",
            "/cart/bakery/",
            "/cart/pottery/",
            "/orders/",
            "/demo/sign-in",
            hosted_a,
        ],
        "U": ["/cart/", "/orders/", hosted_u],
        "S": ["/cart/bakery/"],
    }
    forms: list[tuple[str, Form]] = []
    texts: list[str] = []
    for persona, paths in pages.items():
        await _session(client, personas[persona])
        for path in paths:  # grows with the orders each page links to
            text = await _page(client, path)
            texts.append(text)
            forms += [(persona, form) for form in forms_on(path, text)]
            for ref in re.findall(r'href="/orders/([A-Za-z0-9_-]+)"', text):
                for linked in (f"/orders/{ref}", f"/checkout/return/{ref}"):
                    if linked not in paths:
                        paths.append(linked)

    all_text = "\n".join(texts)
    refs = sorted(set(re.findall(r'/orders/([A-Za-z0-9_-]{8,})"', all_text)))
    store = sandbox_state(app.app)
    transactions = [
        t.id for c in (store._checkouts.values() if store else []) for t in c.transactions
    ]
    values: dict[str, list[str]] = {
        "line_id": sorted(set(re.findall(r"/cart/lines/(\d+)/", all_text))),
        "entry_id": sorted(set(re.findall(r"/cart/bookings/(\d+)/", all_text))),
        "page_slug": ["bakery", "pottery"],
        "public_ref": refs,
        "checkout_id": [checkout_a, checkout_u],
        "transaction_id": transactions,
        "merchant_code": [settings.sumup.merchant_code or "MSANDBOX1"],
        "filename": ["cart.css"],
        "product_id": [str(p.id) for p in (bread, cake, jam, mug, card)],
        "slot_id": [str(class_slot.id), str(last_place.id)],
        "user_id": [str(user.id)],
        "quantity": ["1", "2", str(settings.max_quantity)],
        "next": ["/cart/", "/shop/bakery/", "http://127.0.0.1:8001/shop/"],
        "card_number": ["4242 4242 4242 4242", "4000000000000002"],
    }
    for _persona, form in forms:
        for name, value in form.fields:
            if value and name != "csrf_token" and value not in values.setdefault(name, []):
                values[name].append(value)
    await _session(client, {})
    shop = Shop(app.app, engine, settings, personas, values, forms)
    await shop.save()
    return shop
