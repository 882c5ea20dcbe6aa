"""Alembic environment: async engine, the URL from the app's settings.

`alembic upgrade head` migrates the database the app would use. A caller that already has
a URL (the tests, `manage.py`) passes it as `config.attributes["url"]`.
"""

from __future__ import annotations

import path_setup  # noqa: F401  (puts the project on sys.path)

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

import models  # noqa: F401  (registers the cart tables on the metadata)
from shared.config import load_settings
from shared.db import make_engine
from shared.events import OutboxEvent  # noqa: F401  (registers the outbox table)
from shared.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("url") or load_settings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = make_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_online())
