"""With background jobs on, the app runs the order jobs while it serves and stops them
when it stops."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.order_ops.background import TASK_KEY
from models import Order
from shared.config import Settings
from shared.db import make_sessionmaker
from shared.http_client import HTTP_CLIENT_KEY
from shared.models import utcnow
from tests.conftest import ArrivingFromOutside
from tests.factories import Factory
from tests.integration.payment_data import entry_state, placed_bakery_order, stored_order


async def test_background_jobs_expire_a_stale_order_while_serving_and_stop_with_the_app(
    settings: Settings, engine: AsyncEngine, db: AsyncSession, factory: Factory
) -> None:
    from app import create_app

    placed = await placed_bakery_order(db, factory)
    await db.execute(update(Order).values(created_at=utcnow() - timedelta(minutes=31)))
    await db.commit()
    app = create_app(settings.with_overrides(background_jobs=True))
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ArrivingFromOutside(app)),
        base_url=settings.app_urls["cart"],
    )

    async with app.test_app():
        task = app.extensions[TASK_KEY]
        for _ in range(100):  # the first round runs as the app starts serving
            if (await stored_order(db, placed.order_id)).status == "expired":
                break
            await asyncio.sleep(0.05)
        assert not task.done()

    assert (await stored_order(db, placed.order_id)).status == "expired"
    assert await entry_state(db, placed.cart.entry_id) == "pending"
    assert task.done() and not task.cancelled()  # stopped when asked, not killed
    assert TASK_KEY not in app.extensions


async def test_background_jobs_off_start_no_task(app) -> None:  # type: ignore[no-untyped-def]
    assert TASK_KEY not in app.app.extensions
