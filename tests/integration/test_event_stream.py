"""The Redis stream other services read: one entry per delivery, documented fields, bounded.

Uses the Redis database of TEST_REDIS_URL and a stream name of its own, deleted afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db import make_sessionmaker
from shared.events.claims import DispatchPolicy
from shared.events.dispatcher import DeliveryTargets, dispatch_once, drain
from shared.events.stream import RedisStream
from shared.events.subscribers import Subscribers
from shared.models import utcnow
from tests.conftest import TEST_REDIS_URL, redis_only
from tests.integration.event_data import Recorder, emit_committed, outbox_row

pytestmark = redis_only


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    assert TEST_REDIS_URL
    client = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def stream_name(redis: Redis) -> AsyncIterator[str]:
    name = f"test:events:{uuid.uuid4().hex}"
    yield name
    await redis.delete(name)


async def test_each_delivered_event_is_one_stream_entry_with_the_documented_fields(
    engine: AsyncEngine, db: AsyncSession, redis: Redis, stream_name: str
) -> None:
    sessions = make_sessionmaker(engine)
    [event_id] = await emit_committed(
        sessions, "ref-a", "order.paid", payload={"total_minor": 1250, "currency": "GBP"}
    )
    targets = DeliveryTargets(
        subscribers=Subscribers(), stream=RedisStream(redis, name=stream_name, maxlen=1000)
    )

    await dispatch_once(sessions, targets)

    [(entry_id, fields)] = await redis.xrange(stream_name)
    assert set(fields) == {"event_id", "type", "aggregate_id", "payload", "created_at"}
    assert (fields["event_id"], fields["type"], fields["aggregate_id"]) == (
        event_id,
        "order.paid",
        "ref-a",
    )
    assert json.loads(fields["payload"]) == {
        "order_ref": "ref-a",
        "total_minor": 1250,
        "currency": "GBP",
    }
    created_at = datetime.fromisoformat(fields["created_at"])
    assert created_at.utcoffset() is not None and created_at.utcoffset().total_seconds() == 0
    assert (await outbox_row(db, event_id)).delivered_at is not None


async def test_a_failing_subscriber_keeps_the_event_off_the_stream_until_its_retry(
    engine: AsyncEngine, redis: Redis, stream_name: str
) -> None:
    sessions = make_sessionmaker(engine)
    [event_id] = await emit_committed(sessions, "ref-a", "order.created")
    flaky = Recorder(failing={"order.created"})
    subscribers = Subscribers()
    subscribers.subscribe("*", flaky)
    targets = DeliveryTargets(subscribers, RedisStream(redis, name=stream_name, maxlen=1000))
    start = utcnow()

    await dispatch_once(sessions, targets, now=start)
    assert await redis.xlen(stream_name) == 0
    flaky.failing.clear()
    await dispatch_once(sessions, targets, now=start + timedelta(seconds=4))  # not due yet
    assert await redis.xlen(stream_name) == 0
    await dispatch_once(sessions, targets, now=start + timedelta(seconds=5))

    entries = await redis.xrange(stream_name)
    assert [fields["event_id"] for _, fields in entries] == [event_id]
    assert flaky.event_ids == [event_id]


async def test_the_stream_is_trimmed_to_about_its_maximum_length(
    engine: AsyncEngine, redis: Redis, stream_name: str
) -> None:
    sessions = make_sessionmaker(engine)
    for n in range(400):
        await emit_committed(sessions, f"ref-{n}", "order.created")
    targets = DeliveryTargets(Subscribers(), RedisStream(redis, name=stream_name, maxlen=50))

    report = await drain(sessions, targets, policy=DispatchPolicy(batch_size=100))

    assert report.claimed == 400
    length = await redis.xlen(stream_name)
    # "~" trims whole nodes (100 entries each by default): at least 50 kept, far fewer than 400.
    assert 50 <= length <= 150
    [(_, newest)] = await redis.xrevrange(stream_name, count=1)
    assert newest["aggregate_id"] == "ref-399"


async def test_redis_down_fails_the_delivery_and_it_is_retried_later(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    sessions = make_sessionmaker(engine)
    [event_id] = await emit_committed(sessions, "ref-a", "order.paid")
    unreachable = Redis.from_url("redis://:s3cret@127.0.0.1:1/0", socket_connect_timeout=1)
    targets = DeliveryTargets(Subscribers(), RedisStream(unreachable, name="nowhere", maxlen=10))
    try:
        await dispatch_once(sessions, targets)
    finally:
        await unreachable.aclose()

    row = await outbox_row(db, event_id)
    assert row.delivered_at is None and row.next_attempt_at is not None
    assert row.last_error is not None and "ConnectionError" in row.last_error
    assert "s3cret" not in row.last_error


async def test_once_redis_is_back_the_events_an_outage_held_back_go_at_once(
    engine: AsyncEngine, db: AsyncSession, redis: Redis, stream_name: str
) -> None:
    sessions = make_sessionmaker(engine)
    held_back = [(await emit_committed(sessions, f"ref-{n}", "order.paid"))[0] for n in range(3)]
    refused = (await emit_committed(sessions, "ref-refused", "order.created"))[0]
    subscribers = Subscribers()
    subscribers.subscribe("order.created", Recorder(failing={"order.created"}))
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    stream = RedisStream(unreachable, name=stream_name, maxlen=1000)
    targets = DeliveryTargets(subscribers=subscribers, stream=stream)
    started = utcnow()
    try:
        # A 45-second outage: three rounds fail, and the backoff grows to 20 s.
        for seconds in (0, 5, 15):
            await dispatch_once(sessions, targets, now=started + timedelta(seconds=seconds))
    finally:
        await unreachable.aclose()
    waiting = {event_id: await outbox_row(db, event_id) for event_id in held_back}
    assert all(row.attempts == 3 and row.delivered_at is None for row in waiting.values())
    assert all("StreamUnavailable" in (row.last_error or "") for row in waiting.values())
    refused_retry_at = (await outbox_row(db, refused)).next_attempt_at

    stream.redis = redis  # Redis is back
    quiet = await dispatch_once(sessions, targets)  # nothing due: it probes, and releases
    delivering = await dispatch_once(sessions, targets)

    assert quiet.claimed == 0
    assert delivering.claimed == 3
    entries = await redis.xrange(stream_name)
    assert sorted(fields["event_id"] for _, fields in entries) == sorted(held_back)
    # The event a subscriber refused keeps its backoff: Redis coming back says nothing of it.
    assert (await outbox_row(db, refused)).next_attempt_at == refused_retry_at
