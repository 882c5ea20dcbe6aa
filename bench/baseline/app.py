"""The baseline: what the cart page, the overview and add-to-cart cost with nothing but
Quart and raw asyncpg, to compare the project with.

    BASELINE_PROJECT_ROOT=... BASELINE_DATABASE_URL=postgresql://... SECRET_KEY=... \
        hypercorn bench.baseline.app:app      (bench/load.py starts it so, from the repo root)

It sends the project's own SQL (queries.py) as the project does: the pages' reads each on
their own (the project sends its hot reads to asyncpg itself, outside a transaction:
shared/statements.py), and add-to-cart's one write alone too, as the project's; and it
renders the project's own templates (BASELINE_PROJECT_ROOT's templates/) with a context of
plain dataclasses and the project's pure money helper, so that the HTML is the project's,
byte for byte but the checkout form's one-time key (bench/load.py checks that at the start
of each run). It reads the project's session cookie (same SECRET_KEY, same cookie name) to
know the shopper and the CSRF token.

Only what the bench's carts need: no sign-in, no bookings shown, no pending orders shown
(the bench's shoppers have none: a row there is a 500 here, not a wrong page). The page
header's item count is the whole cart's, from the same rows, as the project's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from markupsafe import Markup
from quart import Quart, abort, flash, redirect, render_template, request, session

from bench.baseline import queries

PROJECT_ROOT = Path(os.environ["BASELINE_PROJECT_ROOT"]).resolve()
LOCALE = "en_GB"
TIME_ZONE = ZoneInfo("Europe/London")  # the project's default SITE_TIME_ZONE
MAX_QUANTITY = int(os.environ.get("CART_MAX_QUANTITY", "10000"))
POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "15"))  # the project's default


def _pure_module(relative_path: str) -> ModuleType:
    """A module of the project loaded from its file alone (its package's __init__, which
    would bring the project's app along, is left out)."""
    spec = importlib.util.spec_from_file_location(
        Path(relative_path).stem, PROJECT_ROOT / relative_path
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


format_money = _pure_module("shared/money.py").format_money
format_slot_time = _pure_module("bp/cart/services/slot_time.py").format_slot_time
# The checkout form's digest of the cart, the project's own (its Section's fields are ours).
cart_fingerprint = _pure_module("bp/cart/services/fingerprint.py").cart_fingerprint

app = Quart(__name__, template_folder=str(PROJECT_ROOT / "templates"), static_folder=None)
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SESSION_COOKIE_NAME=os.environ.get("SESSION_COOKIE_NAME", "coop_session"),
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
)

# The project's endpoints and their paths as format strings, read from its app by
# bench/harness/count_statements.py --url-rules: whatever the templates link to today.
_PATHS: dict[str, str] = json.loads(os.environ["BASELINE_URL_RULES"])


def url_for(endpoint: str, **values: Any) -> str:
    return _PATHS[endpoint].format(**values)


def csrf_token() -> str:
    return str(session.get("csrf_token", ""))


@dataclass(frozen=True)
class Page:
    id: int
    slug: str
    title: str


@dataclass(frozen=True)
class Line:
    line_id: int
    product_id: int
    page_id: int | None
    title: str
    unit_price_minor: int
    currency: str
    quantity: int


@dataclass(frozen=True)
class Priced:
    line: Line
    total_minor: int


@dataclass(frozen=True)
class Section:
    page_id: int | None
    page: Page | None
    product_lines: tuple[Priced, ...]
    totals: dict[str, int]
    item_count: int
    booking_lines: tuple[()] = ()
    pending_order: None = None
    has_unavailable: bool = False
    has_sold_out: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.product_lines

    @property
    def can_check_out(self) -> bool:
        return not self.is_empty


@dataclass(frozen=True)
class Overview:
    sections: tuple[Section, ...]

    @property
    def item_count(self) -> int:
        return sum(s.item_count for s in self.sections)

    @property
    def site(self) -> Section | None:
        return next((s for s in self.sections if s.page_id is None), None)

    @property
    def pages(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.page_id is not None)


@dataclass(frozen=True)
class Site:
    """The project's site settings as the bench runs it: the defaults (shared/config.py)."""

    name: str = "The Co-op"
    contact_email: str = ""
    terms_url: str = ""


@dataclass(frozen=True)
class Header:
    """The project's page header context (bp/cart/site_header.py) of an anonymous shopper."""

    cart_count: int
    signed_in: bool = False
    user_name: None = None
    sign_out_form: bool = True

    @property
    def sign_in_url(self) -> str:
        return url_for("demo.sign_in")

    @property
    def sign_out_url(self) -> str:
        return url_for("demo.sign_out")


app.jinja_env.globals.update(
    url_for=url_for,
    csrf_token=csrf_token,
    format_money=lambda minor, currency: format_money(minor, currency, LOCALE),
    new_checkout_key=lambda: secrets.token_urlsafe(24),
    cart_fingerprint=cart_fingerprint,
    production=False,
    app_urls={},
    site=Site(),
)
# Compiled in, though the bench's carts hold no bookings.
app.jinja_env.filters["slot_time"] = lambda starts, ends=None: format_slot_time(
    starts, ends, locale=LOCALE, time_zone=TIME_ZONE
)


@app.before_serving
async def _open_pool() -> None:
    app.extensions["pool"] = await asyncpg.create_pool(
        os.environ["BASELINE_DATABASE_URL"], min_size=POOL_SIZE, max_size=POOL_SIZE
    )


@app.after_serving
async def _close_pool() -> None:
    await app.extensions["pool"].close()


@app.get("/readyz")
async def readyz() -> str:
    return "ok"


def _anon_id(create: bool) -> str | None:
    """The project's anonymous id (bp/cart/services/identity.py, generation 0)."""
    value = session.get("cart_anon_id")
    if isinstance(value, str) or not create:
        return value if isinstance(value, str) else None
    digest = hmac.new(
        app.secret_key.encode(), b"cart-anon-id:" + csrf_token().encode(), hashlib.sha256
    ).digest()
    session["cart_anon_id"] = base64.urlsafe_b64encode(digest).decode("ascii")[:32]
    return session["cart_anon_id"]


def _section(page_id: int | None, page: Page | None, lines: list[Line]) -> Section:
    priced = tuple(Priced(line, line.unit_price_minor * line.quantity) for line in lines)
    totals: dict[str, int] = {}
    for p in priced:
        totals[p.line.currency] = totals.get(p.line.currency, 0) + p.total_minor
    return Section(
        page_id, page, priced, dict(sorted(totals.items())), sum(line.quantity for line in lines)
    )


async def _lines(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[Line]:
    """The lines, with their products' titles and prices (one statement for all)."""
    ids = sorted({row["product_id"] for row in rows})
    products = (
        {p["id"]: p for p in await conn.fetch(queries.products_by_ids(len(ids)), *ids)}
        if ids
        else {}
    )
    if any(row["order_id"] is not None for row in rows):
        raise RuntimeError("the baseline shows no pending orders")
    return [
        Line(
            row["id"],
            row["product_id"],
            row["page_id"],
            products[row["product_id"]]["title"],
            products[row["product_id"]]["price_minor"],
            products[row["product_id"]]["currency"],
            row["quantity"],
        )
        for row in rows
    ]


def _nothing_pending(entries: list[asyncpg.Record], orders: list[asyncpg.Record]) -> None:
    if entries or orders:
        raise RuntimeError("the baseline shows no bookings and no pending orders")


@app.get("/cart/<page_slug>/")
async def page(page_slug: str) -> str:
    anon = _anon_id(create=False)
    async with app.extensions["pool"].acquire() as conn:
        found = await conn.fetchrow(queries.PAGE_BY_SLUG, page_slug)
        if found is None:
            abort(404)
        the_page = Page(found["id"], found["slug"], found["title"])
        lines: list[Line] = []
        if anon is not None:
            # Every page's lines and bookings, as the project loads them for its header.
            lines = await _lines(conn, await conn.fetch(queries.LINES_OF_ALL_PAGES, anon))
            _nothing_pending(
                await conn.fetch(queries.PENDING_ENTRIES, "pending", anon, "ordered", "confirmed"),
                await conn.fetch(queries.PENDING_ORDER_OF_PAGE, anon, "pending", the_page.id),
            )
    on_page = [line for line in lines if line.page_id == the_page.id]
    return await render_template(
        "cart/page.html",
        page=the_page,
        section=_section(the_page.id, the_page, on_page),
        header=Header(cart_count=sum(line.quantity for line in lines)),
        max_quantity=MAX_QUANTITY,
        next_url=request.path,
    )


@app.get("/cart/")
async def overview() -> str:
    anon = _anon_id(create=False)
    sections: list[Section] = []
    if anon is not None:
        async with app.extensions["pool"].acquire() as conn:
            lines = await _lines(conn, await conn.fetch(queries.LINES_OF_ALL_PAGES, anon))
            _nothing_pending(
                await conn.fetch(queries.PENDING_ENTRIES, "pending", anon, "ordered", "confirmed"),
                await conn.fetch(queries.PENDING_ORDERS, anon, "pending"),
            )
            page_ids = sorted({line.page_id for line in lines if line.page_id is not None})
            pages = (
                {
                    row["id"]: Page(row["id"], row["slug"], row["title"])
                    for row in await conn.fetch(queries.pages_by_ids(len(page_ids)), *page_ids)
                }
                if page_ids
                else {}
            )
        for page_id in {line.page_id for line in lines}:
            on_page = [line for line in lines if line.page_id == page_id]
            sections.append(_section(page_id, pages.get(page_id) if page_id else None, on_page))
        sections.sort(
            key=lambda s: (
                s.page_id is not None,
                s.page.title.casefold() if s.page else "",
                s.page_id or 0,
            )
        )
    shown = Overview(tuple(sections))
    return await render_template(
        "cart/overview.html",
        overview=shown,
        header=Header(cart_count=shown.item_count),
        max_quantity=MAX_QUANTITY,
        next_url=request.path,
    )


@app.post("/cart/add")
async def add() -> Any:
    form = await request.form
    sent = form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent.encode(), csrf_token().encode()):
        abort(400)
    try:
        product_id, quantity = int(form["product_id"]), int(form.get("quantity", "1"))
    except (KeyError, ValueError):
        abort(400)
    anon = _anon_id(create=True)
    now = datetime.now(UTC)
    async with app.extensions["pool"].acquire() as conn:
        product = await conn.fetchrow(queries.PRODUCT_BY_ID, product_id)
        if product is None or not product["available"]:
            abort(400)
        line = await conn.fetchrow(
            queries.ADD_TO_LINE,
            None,
            anon,
            product["page_id"],
            product_id,
            quantity,
            now,
            MAX_QUANTITY,
        )
        if line is None:  # over the most a line may hold: refused, as the project does
            await flash(f"You cannot have more than {MAX_QUANTITY} of {product['title']}.", "error")
            return redirect(form.get("next") or "/cart/")
        found = await conn.fetchrow(queries.PAGE_BY_ID, product["page_id"])
    # The project's message (bp/cart/global_routes.py _added_message), Markup and all.
    cart_url = f"/cart/{found['slug']}/"
    message = Markup("Added {quantity} × {title} to your cart for {shop}").format(
        quantity=quantity, title=product["title"], shop=found["title"]
    )
    if line["quantity"] != quantity:
        message += Markup(": you now have {now}").format(now=line["quantity"])
    await flash(
        message + Markup('. <a href="{url}">See your cart</a>').format(url=cart_url), "success"
    )
    return redirect(form.get("next") or cart_url)
