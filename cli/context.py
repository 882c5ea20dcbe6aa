"""What an operator command gets: settings, database sessions, the HTTP client, Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import make_engine, make_sessionmaker


@dataclass(frozen=True)
class CliContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    redis: Redis | None


@asynccontextmanager
async def cli_context(settings: Settings) -> AsyncIterator[CliContext]:
    engine = make_engine(settings.database_url)
    http = httpx.AsyncClient(timeout=httpx.Timeout(settings.sumup.timeout_seconds))
    redis = Redis.from_url(settings.redis_url, socket_timeout=5) if settings.redis_url else None
    try:
        yield CliContext(settings, engine, make_sessionmaker(engine), http, redis)
    finally:
        await http.aclose()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
