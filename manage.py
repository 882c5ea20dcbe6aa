"""Operator commands.

python manage.py migrate            alembic upgrade head on the configured database
python manage.py seed               the demo site, when the database is empty (development)
python manage.py <group> ...        the groups of cli/ (orders, events, ...); --help lists them
"""

from __future__ import annotations

import path_setup  # noqa: F401

import argparse
import asyncio
import importlib
import sys

from alembic import command
from alembic.config import Config

from cli.context import cli_context
from shared.config import PROJECT_ROOT, ConfigError, Settings, load_settings

# The command groups of cli/; each module exports register(subparsers).
CLI_GROUPS = ("cli.orders", "cli.events")


def migrate(settings: Settings) -> int:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["url"] = settings.database_url
    command.upgrade(cfg, "head")
    return 0


def seed(settings: Settings) -> int:
    from bp.demo.seed import seed_demo_site_if_empty
    from shared.db import make_engine, make_sessionmaker

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
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manage.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="group", required=True)
    subparsers.add_parser("migrate", help="migrate the database").set_defaults(sync=migrate)
    subparsers.add_parser("seed", help="seed the demo site").set_defaults(sync=seed)
    for module in CLI_GROUPS:
        importlib.import_module(module).register(subparsers)
    return parser


async def _run_async(args: argparse.Namespace, settings: Settings) -> int:
    async with cli_context(settings) as ctx:
        return int(await args.handler(args, ctx))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        # One line and exit status 1, as the app's start-up (app.py).
        sys.exit(f"cart: cannot start: {error}")
    if hasattr(args, "sync"):
        return args.sync(settings)
    return asyncio.run(_run_async(args, settings))


if __name__ == "__main__":
    sys.exit(main())
