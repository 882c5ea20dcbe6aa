"""The Redis pool, when REDIS_URL is set; made at start, closed at stop, kept on the app."""

from __future__ import annotations

from quart import Quart
from redis.asyncio import Redis


def init_redis(app: Quart) -> None:
    @app.before_serving
    async def _open_redis() -> None:
        url = app.config.get("REDIS_URL")
        if url and "redis" not in app.extensions:
            app.extensions["redis"] = Redis.from_url(url, socket_timeout=5)

    @app.after_serving
    async def _close_redis() -> None:
        client: Redis | None = app.extensions.pop("redis", None)
        if client is not None:
            await client.aclose()


def redis_of(app: Quart) -> Redis | None:
    return app.extensions.get("redis")
