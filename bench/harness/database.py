"""The bench's own PostgreSQL database and Redis db: made if missing, emptied, migrated by
the benched checkout's alembic, and given the shops the scenarios shop in."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import redis

SHOP_SLUG = "bench-shop"  # the cart pages' shop: its products fill the 1/10/50-line carts
CHECKOUT_SLUG = "bench-checkout"  # the checkout scenario's shop: one product
SHOP_PRODUCTS = 60  # 50 for the biggest cart, and some spare for the adds


@dataclass(frozen=True)
class Shops:
    shop_product_ids: list[int]  # in the order they were made (the carts add them in order)
    checkout_product_id: int


def plain_dsn(url: str) -> str:
    """asyncpg's DSN from SQLAlchemy's URL (postgresql+asyncpg://...)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def ensure_database(url: str) -> None:
    """createdb when the database is missing (PostgreSQL says so; anything else is fatal)."""
    parts = urlsplit(plain_dsn(url))
    name = parts.path.lstrip("/")
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    args += ["-U", parts.username or "postgres"]
    found = subprocess.run(
        [
            "psql",
            *args,
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if found.stdout.strip() != "1":
        subprocess.run(["createdb", *args, name], check=True)


async def reset_schema(url: str) -> None:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


async def analyze(url: str) -> None:
    """Fresh planner statistics once the shoppers are seeded. Without them the first server
    measured ran against tables PostgreSQL still thought empty (autovacuum analyses them a
    while later), and the servers measured after it did not: the first project server came
    out at a third of the 2-worker one's pace, its baseline, later, did not."""
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def migrate(project_root: Path, env: dict[str, str]) -> None:
    """The benched checkout's own migrations (`manage.py migrate`, as make migrate)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate"],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py migrate failed:\n{done.stdout}\n{done.stderr}")


def flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


async def insert_shops(url: str) -> Shops:
    """The pages and products, inserted directly (the market and blog services own them;
    the cart only reads them): plain SQL, so that any checkout's models will do."""
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        async with connection.transaction():
            shop_id = await _page(connection, SHOP_SLUG, "Bench shop")
            product_ids = [
                await _product(
                    connection, shop_id, f"{SHOP_SLUG}-{n:02d}", f"Bench product {n:02d}", 100 + n
                )
                for n in range(SHOP_PRODUCTS)
            ]
            checkout_id = await _page(connection, CHECKOUT_SLUG, "Bench checkout shop")
            checkout_product = await _product(
                connection, checkout_id, f"{CHECKOUT_SLUG}-loaf", "Bench loaf", 350
            )
    finally:
        await connection.close()
    return Shops(product_ids, checkout_product)


async def _page(connection: asyncpg.Connection, slug: str, title: str) -> int:
    return await connection.fetchval(
        "INSERT INTO posts (slug, title, created_at, updated_at) VALUES ($1, $2, now(), now()) "
        "RETURNING id",
        slug,
        title,
    )


async def _product(
    connection: asyncpg.Connection, page_id: int, slug: str, title: str, price: int
) -> int:
    return await connection.fetchval(
        "INSERT INTO products (slug, title, description, price_minor, currency, available, "
        "page_id, created_at, updated_at) VALUES ($1, $2, '', $3, 'GBP', true, $4, now(), now()) "
        "RETURNING id",
        slug,
        title,
        price,
        page_id,
    )


def server_versions(url: str) -> str:
    """PostgreSQL's version line, for the report."""
    parts = urlsplit(plain_dsn(url))
    done = subprocess.run(
        [
            "psql",
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-d",
            parts.path.lstrip("/"),
            "-tAc",
            "SHOW server_version",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"
