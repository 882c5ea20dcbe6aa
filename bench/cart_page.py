"""How fast the cart page renders, and how many SQL statements it takes, by cart size.

    python bench/cart_page.py [--requests 300]

Seeds carts of 1, 10 and 50 product lines (plus one booking each) into a temporary SQLite
database migrated by alembic, renders `/cart/<page>/` through the app's test client N times
per cart, and prints requests/s, median and p95 latency and SQL statements per render.

With BENCH_DATABASE_URL=postgresql+asyncpg://... it also runs on PostgreSQL. That database
is migrated to head; the bench's rows (slugs starting `bench-`) are deleted afterwards, and
any left by an interrupted run are deleted first. Use a throwaway database all the same.

The test client skips the network and hypercorn: the figures are the app's own cost. CPU ms
is this process's CPU time a render (on SQLite that includes the database's work).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import path_setup  # noqa: E402,F401

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlalchemy import delete, event, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from models import CartItem  # noqa: E402
from shared.config import PROJECT_ROOT, load_settings  # noqa: E402
from shared.db import engine_of, make_engine, make_sessionmaker  # noqa: E402
from shared.models import Calendar, CalendarEntry, CalendarSlot, Post, Product  # noqa: E402

CART_SIZES = (1, 10, 50)
WARM_UP_RENDERS = 10
SLUG_PREFIX = "bench-"


@dataclass(frozen=True)
class SeededCart:
    lines: int
    page_slug: str
    anon_id: str
    last_title: str


@dataclass(frozen=True)
class Result:
    lines: int
    requests_per_second: float
    median_ms: float
    p95_ms: float
    cpu_ms: float  # of this process (the app and its driver; not the database server)
    statements_per_render: float


def migrate(url: str) -> None:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")


async def remove_bench_rows(session: AsyncSession) -> None:
    pages = select(Post.id).where(Post.slug.startswith(SLUG_PREFIX))
    calendars = select(Calendar.id).where(Calendar.page_id.in_(pages))
    slots = select(CalendarSlot.id).where(CalendarSlot.calendar_id.in_(calendars))
    await session.execute(delete(CalendarEntry).where(CalendarEntry.slot_id.in_(slots)))
    await session.execute(delete(CalendarSlot).where(CalendarSlot.calendar_id.in_(calendars)))
    await session.execute(delete(Calendar).where(Calendar.page_id.in_(pages)))
    await session.execute(delete(CartItem).where(CartItem.page_id.in_(pages)))
    await session.execute(delete(Product).where(Product.page_id.in_(pages)))
    await session.execute(delete(Post).where(Post.slug.startswith(SLUG_PREFIX)))
    await session.commit()


async def seed_cart(session: AsyncSession, lines: int) -> SeededCart:
    """One page with `lines` products all in one anonymous cart, and one booking."""
    slug = f"{SLUG_PREFIX}{lines}-lines"
    anon_id = f"bench-anon-{lines:04d}-" + "x" * 12
    page = Post(slug=slug, title=f"Bench page, {lines} lines")
    session.add(page)
    await session.flush()
    products = [
        Product(
            slug=f"{slug}-product-{n}",
            title=f"Bench product {n}",
            price_minor=100 + n,
            currency="GBP",
            page_id=page.id,
        )
        for n in range(lines)
    ]
    calendar = Calendar(page_id=page.id, name="Bench calendar")
    session.add_all([*products, calendar])
    await session.flush()
    session.add_all(
        CartItem(session_id=anon_id, page_id=page.id, product_id=product.id, quantity=2)
        for product in products
    )
    starts = datetime.now(UTC) + timedelta(days=30)
    slot = CalendarSlot(
        calendar_id=calendar.id,
        title="Bench workshop",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        places=10,
        price_minor=1500,
        currency="GBP",
    )
    session.add(slot)
    await session.flush()
    session.add(CalendarEntry(slot_id=slot.id, session_id=anon_id, state="pending"))
    await session.commit()
    return SeededCart(lines, slug, anon_id, products[-1].title)


class StatementCounter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.count += 1


async def bench_cart(app: Any, counter: StatementCounter, cart: SeededCart, n: int) -> Result:
    client = app.test_client()
    async with client.session_transaction() as client_session:
        client_session["cart_anon_id"] = cart.anon_id
    path = f"/cart/{cart.page_slug}/"

    async def render() -> None:
        response = await client.get(path)
        body = await response.get_data(as_text=True)
        if response.status_code != 200 or cart.last_title not in body:
            raise SystemExit(f"{path} did not render the cart ({response.status_code})")

    for _ in range(WARM_UP_RENDERS):
        await render()
    counter.count = 0
    latencies = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(n):
        before = time.perf_counter()
        await render()
        latencies.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    latencies.sort()
    return Result(
        lines=cart.lines,
        requests_per_second=n / elapsed,
        median_ms=statistics.median(latencies) * 1000,
        p95_ms=latencies[max(int(len(latencies) * 0.95) - 1, 0)] * 1000,
        cpu_ms=cpu * 1000 / n,
        statements_per_render=counter.count / n,
    )


async def run(database_url: str, var_dir: Path, n: int) -> list[Result]:
    from app import create_app

    settings = load_settings(
        {
            "APP_MODE": "development",
            "DATABASE_URL_ASYNC": database_url,
            "CART_VAR_DIR": str(var_dir),
            "SECRET_KEY": "b" * 40,
            # The test client's host is not the development address it would redirect to.
            "CANONICAL_HOST_REDIRECT": "false",
        }
    )
    seed_engine = make_engine(database_url)
    async with make_sessionmaker(seed_engine)() as session:
        await remove_bench_rows(session)
        carts = [await seed_cart(session, lines) for lines in CART_SIZES]
    try:
        app = create_app(settings)
        async with app.test_app():
            counter = StatementCounter(engine_of(app))
            return [await bench_cart(app, counter, cart, n) for cart in carts]
    finally:
        async with make_sessionmaker(seed_engine)() as session:
            await remove_bench_rows(session)
        await seed_engine.dispose()


def report(label: str, results: list[Result], n: int) -> None:
    print(f"\n{label}: {n} renders of /cart/<page>/ per cart (after {WARM_UP_RENDERS} warm-up)")
    columns = (
        ("lines", 6),
        ("req/s", 8),
        ("median ms", 10),
        ("p95 ms", 8),
        ("CPU ms", 7),
        ("SQL/render", 11),
    )
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    for r in results:
        print(
            f"{r.lines:>6} {r.requests_per_second:>8.0f} {r.median_ms:>10.2f} "
            f"{r.p95_ms:>8.2f} {r.cpu_ms:>7.2f} {r.statements_per_render:>11.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="renders per cart size")
    n = parser.parse_args().requests
    postgres_url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="cart-bench-") as tmp:
        var_dir = Path(tmp)
        sqlite_url = f"sqlite+aiosqlite:///{var_dir / 'bench.sqlite3'}"
        # Both migrated before the app (whose logging setup would echo alembic's lines).
        migrate(sqlite_url)
        if postgres_url:
            migrate(postgres_url)
        report("SQLite (temporary file)", asyncio.run(run(sqlite_url, var_dir, n)), n)
        if postgres_url:
            report("PostgreSQL", asyncio.run(run(postgres_url, var_dir, n)), n)


if __name__ == "__main__":
    main()
