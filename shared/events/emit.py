from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.outbox import OutboxEvent

# Payloads go to other services and to logs: a key that smells of a secret is refused
# outright rather than trusted to every caller's care.
_FORBIDDEN_KEY_PARTS = ("secret", "api_key", "apikey", "password", "token")


def emit_event(
    session: AsyncSession, event_type: str, payload: dict[str, Any], *, aggregate_id: str
) -> OutboxEvent:
    """Add the event to the caller's transaction (nothing is sent now); returns its row."""
    _check_payload(payload)
    event = OutboxEvent(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        aggregate_id=aggregate_id,
        payload=payload,
    )
    session.add(event)
    return event


def _check_payload(payload: dict[str, Any]) -> None:
    json.dumps(payload)  # raises TypeError now rather than at delivery
    stack: list[Any] = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, inner in value.items():
                if any(part in str(key).lower() for part in _FORBIDDEN_KEY_PARTS):
                    raise ValueError(f"event payload key {key!r} looks like a secret")
                stack.append(inner)
        elif isinstance(value, list):
            stack.extend(value)
