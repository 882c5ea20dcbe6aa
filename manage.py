"""Operator commands: `python manage.py migrate`, `python manage.py seed`."""

from __future__ import annotations

import path_setup  # noqa: F401

import argparse
import asyncio
import sys

from alembic import command
from alembic.config import Config

from shared.config import PROJECT_ROOT, ConfigError, load_settings


def migrate() -> None:
    settings = load_settings()
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["url"] = settings.database_url
    command.upgrade(cfg, "head")


def seed() -> None:
    from bp.demo.seed import seed_demo_site_if_empty
    from shared.db import make_engine, make_sessionmaker

    settings = load_settings()
    if settings.production:
        sys.exit("cart: the demo seed is for the embedded default, not production mode")

    async def _seed() -> bool:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await seed_demo_site_if_empty(session)
        finally:
            await engine.dispose()

    print("seeded the demo site" if asyncio.run(_seed()) else "database not empty: no seed")


def main() -> None:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    parser.add_argument("command", choices=["migrate", "seed"])
    args = parser.parse_args()
    try:
        {"migrate": migrate, "seed": seed}[args.command]()
    except ConfigError as error:
        sys.exit(f"cart: {error}")


if __name__ == "__main__":
    main()
