"""In-process subscribers: async handlers called by the dispatcher for each delivered event.

A handler may be called twice for one event (delivery is at least once: a crash between
delivering and recording it, or another target failing after it ran): it uses `event_id`
to ignore a second call. A handler that raises makes the delivery fail; the event is retried
for all targets later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

ALL_EVENTS = "*"


@dataclass(frozen=True)
class DeliveredEvent:
    event_id: str  # the same on every delivery of this event
    type: str
    aggregate_id: str  # the order's public reference
    payload: MappingProxyType[str, Any]  # read-only: every handler sees the same payload
    created_at: datetime


Handler = Callable[[DeliveredEvent], Awaitable[None]]


class Subscribers:
    """Handlers by event type; `"*"` receives every event. Called in subscription order."""

    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler]] = []

    def subscribe(self, event_type: str, handler: Handler) -> None:
        self._handlers.append((event_type, handler))

    def handlers_for(self, event_type: str) -> list[Handler]:
        return [h for wanted, h in self._handlers if wanted in (event_type, ALL_EVENTS)]

    async def deliver(self, event: DeliveredEvent) -> None:
        for handler in self.handlers_for(event.type):
            await handler(event)


SUBSCRIBERS_KEY = "event_subscribers"


def subscribers_of(app: Any) -> Subscribers:
    """The app's subscribers, made on first use (the dispatcher and `subscribe` share them)."""
    return app.extensions.setdefault(SUBSCRIBERS_KEY, Subscribers())  # type: ignore[no-any-return]


def subscribe(app: Any, event_type: str, handler: Handler) -> None:
    """Call `handler` for each delivered event of `event_type` (or every event, with "*")."""
    subscribers_of(app).subscribe(event_type, handler)
