"""The dispatcher inside the app: started with it when BACKGROUND_JOBS is on, stopped with it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from quart import Quart
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings
from shared.db import make_sessionmaker
from shared.events import subscribe
from shared.events.background import TASK_KEY
from tests.conftest import TEST_REDIS_URL, redis_only
from tests.integration.event_data import Recorder, emit_committed


def _app(settings: Settings, engine: AsyncEngine) -> Quart:
    from app import create_app

    app = create_app(settings)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    return app


@pytest.fixture
async def stream_name() -> AsyncIterator[str]:
    name = f"test:events:{uuid.uuid4().hex}"
    yield name
    if TEST_REDIS_URL:
        client = Redis.from_url(TEST_REDIS_URL)
        await client.delete(name)
        await client.aclose()


async def _until(condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def test_with_background_jobs_the_app_delivers_events_while_it_serves(
    settings: Settings, engine: AsyncEngine, stream_name: str
) -> None:
    app = _app(settings.with_overrides(background_jobs=True, events_stream=stream_name), engine)
    recorder = Recorder()
    subscribe(app, "order.paid", recorder)

    async with app.test_app():
        task = app.extensions[TASK_KEY]
        assert not task.done()
        [event_id] = await emit_committed(make_sessionmaker(engine), "ref-a", "order.paid")

        async def delivered() -> bool:
            return recorder.event_ids == [event_id]

        await _until(delivered)

    assert task.done() and not task.cancelled()  # stopped when asked, not killed
    assert TASK_KEY not in app.extensions


async def test_without_background_jobs_no_dispatcher_runs(
    settings: Settings, engine: AsyncEngine
) -> None:
    app = _app(settings, engine)  # the tests' settings: BACKGROUND_JOBS=false
    recorder = Recorder()
    subscribe(app, "*", recorder)

    async with app.test_app():
        assert TASK_KEY not in app.extensions
        await emit_committed(make_sessionmaker(engine), "ref-a", "order.paid")
        await asyncio.sleep(1.5)  # longer than the dispatcher's idle pause

    assert recorder.received == []


@redis_only
async def test_with_redis_the_apps_dispatcher_writes_the_configured_stream(
    settings: Settings, engine: AsyncEngine, stream_name: str
) -> None:
    app = _app(settings.with_overrides(background_jobs=True, events_stream=stream_name), engine)
    assert TEST_REDIS_URL
    reader = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        async with app.test_app():
            [event_id] = await emit_committed(make_sessionmaker(engine), "ref-a", "order.created")

            async def on_stream() -> bool:
                return await reader.xlen(stream_name) == 1

            await _until(on_stream)
        [(_, fields)] = await reader.xrange(stream_name)
        assert (fields["event_id"], fields["type"]) == (event_id, "order.created")
    finally:
        await reader.aclose()
