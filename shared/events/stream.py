"""The Redis stream other services read domain events from.

One stream (settings.events_stream, "coop:events" by default) for every event type; each
entry's fields are flat strings, documented in the README ("Domain events"):
event_id, type, aggregate_id, payload (JSON), created_at (ISO 8601, UTC).
"""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.events.subscribers import DeliveredEvent


def stream_fields(event: DeliveredEvent) -> dict[str, str]:
    return {
        "event_id": event.event_id,
        "type": event.type,
        "aggregate_id": event.aggregate_id,
        "payload": json.dumps(dict(event.payload), sort_keys=True, separators=(",", ":")),
        "created_at": event.created_at.isoformat(),
    }


# How long a probe waits for a PING: a frozen Redis (SIGSTOP) accepts and never answers.
PROBE_SECONDS = 1.0


class StreamUnavailable(Exception):
    """Redis could not be reached: every event waiting behind it may go as soon as it can.

    Its name starts the event's last_error (the dispatcher records `Name: message`), which is
    how the events held back by an outage are told from those a subscriber refused.
    """


class RedisStream:
    def __init__(self, redis: Redis, *, name: str, maxlen: int) -> None:
        self.redis = redis
        self.name = name
        self.maxlen = maxlen

    async def publish(self, event: DeliveredEvent) -> None:
        try:
            # MAXLEN ~ trims whole macro-nodes only: cheap, and keeps at least `maxlen`.
            await self.redis.xadd(
                self.name,
                stream_fields(event),  # type: ignore[arg-type]
                maxlen=self.maxlen,
                approximate=True,
            )
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise StreamUnavailable(f"{type(error).__name__}: {error}") from error

    async def reachable(self) -> bool:
        """Whether Redis answers a PING now (within PROBE_SECONDS)."""
        try:
            return bool(await asyncio.wait_for(self.redis.ping(), PROBE_SECONDS))
        except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError):
            return False
