"""A new visitor's first add, sent several times at once, makes ONE anonymous cart.

Before any response has stored `cart_anon_id` in the browser's cookie, every racing first
add arrives with the same cookie, holding only the CSRF token of the page that rendered the
form (this service's own, or a sibling's). They must all find the same cart: on one process,
on several, and when this service has never seen the shopper before.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
from pathlib import Path

import pytest
from quart import Quart
from quart.sessions import SecureCookieSessionInterface
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.identity import derive_anonymous_id
from models import CartItem
from shared.config import Settings
from shared.interfaces import Owner
from tests.conftest import postgres_only
from tests.factories import Factory
from tests.http.first_add_worker import SERVER_NAME, add_in_process
from tests.integration.payment_data import placed_bakery_order

RACERS = 6
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


@pytest.fixture
async def bakery(factory: Factory) -> dict[str, int]:
    page = await factory.page(slug="bakery", title="Bakery")
    bread = await factory.product(page_id=page.id, title="Bread", price_minor=250)
    return {"page": page.id, "bread": bread.id}


def sibling_cookie(settings: Settings, values: dict[str, object]) -> str:
    """A session cookie as another service (the market) signs it: its own app, the shared
    secret and cookie name, the same Quart session interface as every service's base."""
    market = Quart("market")
    market.config.update(
        SECRET_KEY=settings.secret_key, SESSION_COOKIE_NAME=settings.session_cookie_name
    )
    serializer = SecureCookieSessionInterface().get_signing_serializer(market)
    assert serializer is not None
    return serializer.dumps(values)


async def session_values(client) -> dict[str, object]:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        return dict(session)


async def committed_lines(db: AsyncSession) -> list[tuple[str | None, int | None, int, int]]:
    """(anonymous id, page, product, quantity) of every live line, as committed now."""
    await db.rollback()
    rows = await db.execute(
        select(CartItem.session_id, CartItem.page_id, CartItem.product_id, CartItem.quantity)
        .where(CartItem.deleted_at.is_(None))
        .order_by(CartItem.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def anonymous_ids_stored(db: AsyncSession) -> int:
    """How many anonymous ids own a line, live or not: a lost racer's cart counts too."""
    await db.rollback()
    count = await db.scalar(select(func.count(func.distinct(CartItem.session_id))))
    return count or 0


async def test_six_racing_first_adds_from_a_page_of_this_service_fill_one_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery
) -> None:
    # A new visitor opens a shop page: its forms give the session a CSRF token, and nothing
    # else (no anonymous id before the first add).
    page = await client.get("/shop/bakery/")
    token = CSRF_INPUT.findall(await page.get_data(as_text=True))[0]
    assert await session_values(client) == {"csrf_token": token}
    form = {"product_id": str(bakery["bread"]), "csrf_token": token}

    # Six first adds at once, all with that cookie (none has its answer yet).
    responses = await asyncio.gather(*(client.post("/cart/add", form=form) for _ in range(RACERS)))

    assert [r.status_code for r in responses] == [302] * RACERS
    anon_id = (await session_values(client))["cart_anon_id"]
    assert await committed_lines(db) == [(anon_id, bakery["page"], bakery["bread"], RACERS)]
    assert await anonymous_ids_stored(db) == 1
    html = await (await client.get("/cart/bakery/")).get_data(as_text=True)
    assert "Bread" in html and f'value="{RACERS}"' in html
    summary = await (await client.get("/cart/summary.json")).get_json()
    assert summary["item_count"] == RACERS


async def test_six_racing_first_adds_from_a_siblings_page_fill_one_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery, settings: Settings
) -> None:
    # The market rendered the form and wrote the session: this service has never answered
    # this browser, whose cookie holds only the market's CSRF token.
    token = "market-made-token-" + "m" * 24
    cookie = sibling_cookie(settings, {"csrf_token": token})
    client.set_cookie(SERVER_NAME, settings.session_cookie_name, cookie)
    market = settings.app_urls["market"]
    form = {"product_id": str(bakery["bread"]), "csrf_token": token, "next": f"{market}/bread"}

    responses = await asyncio.gather(
        *(client.post("/cart/add", form=form, headers={"Origin": market}) for _ in range(RACERS))
    )

    assert [r.status_code for r in responses] == [302] * RACERS
    assert {r.headers["Location"] for r in responses} == {f"{market}/bread"}
    values = await session_values(client)
    assert values["csrf_token"] == token  # the market's token is kept, not replaced
    assert await committed_lines(db) == [
        (values["cart_anon_id"], bakery["page"], bakery["bread"], RACERS)
    ]
    assert await anonymous_ids_stored(db) == 1
    summary = await (await client.get("/cart/summary.json")).get_json()
    assert summary["item_count"] == RACERS


@postgres_only
async def test_six_racing_first_adds_split_over_three_app_processes_fill_one_cart(  # type: ignore[no-untyped-def]
    db: AsyncSession, bakery, settings: Settings, database_url: str, var_dir: Path
) -> None:
    # Three OS processes, each its own app from the factory (as hypercorn workers or hosts),
    # sharing only the database and SECRET_KEY; two of the six first adds go to each, all
    # with the one cookie the market's page left.
    token = "market-made-token-" + "p" * 24
    cookie = sibling_cookie(settings, {"csrf_token": token})
    market = settings.app_urls["market"]
    form = {"product_id": str(bakery["bread"]), "csrf_token": token}
    processes, per_process = 3, RACERS // 3
    spawn = multiprocessing.get_context("spawn")
    start_line = spawn.Barrier(processes)
    results = spawn.Queue()
    workers = [
        spawn.Process(
            target=add_in_process,
            args=(
                database_url,
                settings.secret_key,
                str(var_dir),
                settings.session_cookie_name,
                cookie,
                form,
                {"Origin": market},
                per_process,
                start_line,
                results,
            ),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    outcomes = [await asyncio.to_thread(results.get, timeout=120) for _ in workers]
    for worker in workers:
        await asyncio.to_thread(worker.join, 30)

    assert outcomes == [("done", [302] * per_process)] * processes
    lines = await committed_lines(db)
    assert [line[1:] for line in lines] == [(bakery["page"], bakery["bread"], RACERS)]
    assert await anonymous_ids_stored(db) == 1


async def test_a_sign_out_drops_the_token_so_the_next_anonymous_cart_is_a_new_one(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    token = "kept-over-sign-out-" + "k" * 24
    anon_id = derive_anonymous_id(token, secret=settings.secret_key)
    placed = await placed_bakery_order(
        db, factory, Owner(session_id=anon_id)
    )  # an anonymous order, unpaid
    cake = await factory.product(page_id=placed.cart.page_id, title="Cake", price_minor=300)
    alice = await factory.user(display_name="Alice")
    async with client.session_transaction() as session:
        session["csrf_token"] = token
    await client.post("/cart/add", form={"product_id": str(cake.id), "csrf_token": token})
    assert (await session_values(client))["cart_anon_id"] == anon_id
    assert placed.number in await (await client.get("/orders/")).get_data(as_text=True)

    await client.post("/demo/sign-in", form={"user_id": str(alice.id), "csrf_token": token})
    adopted = await (await client.get("/cart/")).get_data(as_text=True)
    assert "1 order from before you signed in is now in Your orders." in adopted
    await client.post("/demo/sign-out", form={"csrf_token": token})
    assert "csrf_token" not in await session_values(client)
    await client.get("/shop/bakery/")  # the next visitor's first page: a new form token
    new_token = (await session_values(client))["csrf_token"]
    await client.post(
        "/cart/add", form={"product_id": str(placed.cart.jam_id), "csrf_token": new_token}
    )

    new_id = (await session_values(client))["cart_anon_id"]
    assert new_token != token and new_id != anon_id
    orders = await (await client.get("/orders/")).get_data(as_text=True)
    assert placed.number not in orders
    cart = await (await client.get("/cart/bakery/")).get_data(as_text=True)
    assert "Jam" in cart and "Cake" not in cart and "Bread" not in cart
    assert await anonymous_lines(db, new_id) == [(placed.cart.jam_id, 1)]


async def anonymous_lines(db: AsyncSession, session_id: str) -> list[tuple[int, int]]:
    """(product, quantity) of the anonymous id's live lines that no user has taken."""
    await db.rollback()
    rows = await db.execute(
        select(CartItem.product_id, CartItem.quantity)
        .where(
            CartItem.session_id == session_id,
            CartItem.user_id.is_(None),
            CartItem.deleted_at.is_(None),
        )
        .order_by(CartItem.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]
