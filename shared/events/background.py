"""The dispatcher inside the app: a background task for as long as the app serves.

Started after the database engine and Redis are open and stopped before they close
(`while_serving`), only when settings.background_jobs; deployments that run
`manage.py events dispatch` on its own turn it off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

from quart import Quart
from redis.asyncio import Redis

from shared.config import Settings
from shared.events.dispatcher import DeliveryTargets, run_dispatcher
from shared.events.stream import RedisStream
from shared.events.subscribers import Subscribers, subscribers_of
from shared.redis_client import redis_of

log = logging.getLogger("cart.events")

TASK_KEY = "event_dispatcher_task"
STOP_TIMEOUT_SECONDS = 10.0  # the round in progress may finish; leases cover the rest


def delivery_targets(
    settings: Settings, subscribers: Subscribers, redis: Redis | None
) -> DeliveryTargets:
    """The subscribers, and the stream when Redis is configured (the app's or the CLI's)."""
    if redis is None:
        return DeliveryTargets(subscribers=subscribers)
    stream = RedisStream(redis, name=settings.events_stream, maxlen=settings.events_stream_maxlen)
    return DeliveryTargets(subscribers=subscribers, stream=stream)


def init_event_dispatcher(app: Quart) -> None:
    subscribers_of(app)  # made now, so handlers can subscribe before serving starts

    @app.while_serving
    async def _dispatch_while_serving() -> AsyncGenerator[None, None]:
        settings: Settings = app.extensions["settings"]
        if not settings.background_jobs:
            yield
            return
        stop = asyncio.Event()
        targets = delivery_targets(settings, subscribers_of(app), redis_of(app))
        task = asyncio.create_task(
            run_dispatcher(app.extensions["db_sessionmaker"], targets, stop=stop),
            name="event-dispatcher",
        )
        app.extensions[TASK_KEY] = task
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
            except TimeoutError:  # wait_for has cancelled it
                log.warning("event dispatcher cancelled after %gs", STOP_TIMEOUT_SECONDS)
            app.extensions.pop(TASK_KEY, None)
