"""The dispatcher inside the app: a background task for as long as the app serves.

Started after the database engine and Redis are open and stopped before they close
(`while_serving`), only when settings.background_jobs; deployments that run
`manage.py events dispatch` on its own turn it off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from quart import Quart
from redis.asyncio import Redis

from shared.background import run_while_serving
from shared.config import Settings
from shared.events.dispatcher import DeliveryTargets, run_dispatcher
from shared.events.stream import RedisStream
from shared.events.subscribers import Subscribers, subscribers_of
from shared.redis_client import redis_of

NAME = "event_dispatcher"
TASK_KEY = f"{NAME}_task"


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

    def make_loop(stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        settings: Settings = app.extensions["settings"]
        targets = delivery_targets(settings, subscribers_of(app), redis_of(app))
        return run_dispatcher(app.extensions["db_sessionmaker"], targets, stop=stop)

    # Leases cover a round cut short at stop: its events are delivered again later.
    run_while_serving(app, name=NAME, make_loop=make_loop)
