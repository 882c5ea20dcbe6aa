"""/healthz: the process answers. /readyz: the database (and Redis, when configured) answer."""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, current_app, jsonify
from sqlalchemy import text

from shared.db import engine_of
from shared.redis_client import redis_of

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
CHECK_TIMEOUT_SECONDS = 3


@bp.get("/healthz")
async def healthz():  # type: ignore[no-untyped-def]
    return jsonify({"status": "ok"})


@bp.get("/readyz")
async def readyz():  # type: ignore[no-untyped-def]
    checks = {"database": await _check(_ping_database())}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = await _check(_ping_redis())
    ready = all(value == "ok" for value in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), (
        200 if ready else 503
    )


async def _ping_database() -> None:
    async with engine_of(current_app).connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _ping_redis() -> None:
    client = redis_of(current_app)
    if client is None:
        raise RuntimeError("redis client not started")
    await client.ping()


async def _check(probe) -> str:  # type: ignore[no-untyped-def]
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
        log.warning("readiness check failed: %s", type(exc).__name__)
        return "failing"
    return "ok"
