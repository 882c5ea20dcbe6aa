"""The Redis stream other services read domain events from.

One stream (settings.events_stream, "coop:events" by default) for every event type; each
entry's fields are flat strings, documented in the README ("Domain events"):
event_id, type, aggregate_id, payload (JSON), created_at (ISO 8601, UTC).
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from shared.events.subscribers import DeliveredEvent


def stream_fields(event: DeliveredEvent) -> dict[str, str]:
    return {
        "event_id": event.event_id,
        "type": event.type,
        "aggregate_id": event.aggregate_id,
        "payload": json.dumps(dict(event.payload), sort_keys=True, separators=(",", ":")),
        "created_at": event.created_at.isoformat(),
    }


class RedisStream:
    def __init__(self, redis: Redis, *, name: str, maxlen: int) -> None:
        self.redis = redis
        self.name = name
        self.maxlen = maxlen

    async def publish(self, event: DeliveredEvent) -> None:
        # MAXLEN ~ trims whole macro-nodes only: cheap, and keeps at least `maxlen` entries.
        await self.redis.xadd(
            self.name,
            stream_fields(event),  # type: ignore[arg-type]
            maxlen=self.maxlen,
            approximate=True,
        )
