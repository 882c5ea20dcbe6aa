"""The dispatcher: claim due events, deliver them, record each outcome.

`dispatch_once()` is one round; `run_dispatcher()` repeats rounds until told to stop (the
app's background task and `manage.py events dispatch` both use it); `drain()` runs rounds
until nothing is due (`manage.py events dispatch --once`).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import database_unreachable, describe
from shared.events.claims import (
    ClaimedEvent,
    DispatchPolicy,
    Outcome,
    any_waiting_for_the_stream,
    claim_due_events,
    record_delivered,
    record_failure,
    release_claims,
    release_waiting_for_the_stream,
)
from shared.events.stream import RedisStream
from shared.events.subscribers import DeliveredEvent, Subscribers
from shared.models import utcnow

log = logging.getLogger("cart.events")

MAX_DRAIN_ROUNDS = 10_000  # a drain that never ends means events arrive faster than we send


@dataclass(frozen=True)
class DeliveryTargets:
    subscribers: Subscribers
    stream: RedisStream | None = None  # None when Redis is not configured

    async def deliver(self, event: DeliveredEvent) -> None:
        await self.subscribers.deliver(event)
        if self.stream is not None:
            await self.stream.publish(event)


@dataclass
class DispatchReport:
    claimed: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    def add(self, other: DispatchReport) -> None:
        self.claimed += other.claimed
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] += count

    def __str__(self) -> str:
        counts = ", ".join(f"{count} {outcome}" for outcome, count in self.outcomes.items())
        return f"{self.claimed} claimed: {counts}"


async def dispatch_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    targets: DeliveryTargets,
    *,
    policy: DispatchPolicy | None = None,
    now: datetime | None = None,
    open_claims: list[ClaimedEvent] | None = None,
) -> DispatchReport:
    """One round. `now` fixes the clock (tests); by default each step reads the time.

    `open_claims`, the dispatcher's own across rounds (run_dispatcher): the events claimed
    whose outcome is not recorded yet. A round cut short leaves some there, and the next one
    gives their leases back before it claims: when the database comes back after an outage,
    they go out at once, not a lease (a minute) later.
    """
    policy = policy or DispatchPolicy()
    unrecorded = [] if open_claims is None else open_claims

    def clock() -> datetime:
        return now or utcnow()

    if unrecorded:
        async with sessionmaker() as session:
            await release_claims(session, unrecorded)
            await session.commit()
        unrecorded.clear()

    async with sessionmaker() as session:
        claimed = await claim_due_events(session, now=clock(), policy=policy)
        await session.commit()  # the lease is public before any delivery starts
    unrecorded.extend(claimed)

    report = DispatchReport(claimed=len(claimed))
    async with sessionmaker() as session:
        for item in claimed:
            error = await _deliver(item, targets, policy)
            if error is None:
                outcome = await record_delivered(session, item, now=clock())
            else:
                outcome = await record_failure(
                    session, item, error=error, now=clock(), policy=policy
                )
                log.warning(
                    "event %s (%s, %s) attempt %d failed, %s: %s",
                    item.event.event_id,
                    item.event.type,
                    item.event.aggregate_id,
                    item.attempts,
                    outcome,
                    error,
                )
            # Each outcome committed on its own: a crash later in the batch loses no record.
            await session.commit()
            unrecorded.remove(item)
            report.outcomes[outcome] += 1
    await _after_an_outage(sessionmaker, targets, report, now=clock())
    return report


async def _after_an_outage(
    sessionmaker: async_sessionmaker[AsyncSession],
    targets: DeliveryTargets,
    report: DispatchReport,
    *,
    now: datetime,
) -> None:
    """Once Redis takes events again, those a Redis outage held back go out at once.

    Known when a delivery to the stream has just succeeded, or, in a round with nothing to
    deliver, when events are waiting for it and Redis answers a PING (one indexed query a
    quiet round, and a PING only while events are waiting).
    """
    if targets.stream is None:
        return
    async with sessionmaker() as session:
        if report.outcomes[Outcome.DELIVERED]:
            back = True
        elif report.claimed == 0 and await any_waiting_for_the_stream(session, now=now):
            back = await targets.stream.reachable()
        else:
            back = False
        released = await release_waiting_for_the_stream(session, now=now) if back else 0
        await session.commit()
    if released:
        log.info("Redis is back: %d events held back by the outage are due now", released)


async def _deliver(
    item: ClaimedEvent, targets: DeliveryTargets, policy: DispatchPolicy
) -> str | None:
    """None when every target took the event, else what went wrong."""
    if item.attempts > policy.max_attempts:
        # Claimed that many times and never an outcome recorded: delivering it keeps
        # killing or hanging the dispatcher. Held for an operator instead of tried forever.
        return (
            f"claimed {item.attempts - 1} times without an outcome: a dispatcher crashed "
            "or lost its lease while delivering it"
        )
    try:
        await asyncio.wait_for(targets.deliver(item.event), policy.delivery_timeout_seconds)
    except TimeoutError:
        return f"delivery timed out after {policy.delivery_timeout_seconds:g}s"
    except Exception as error:  # any target's failure is retried; never stops the loop
        return f"{type(error).__name__}: {error}"
    return None


async def drain(
    sessionmaker: async_sessionmaker[AsyncSession],
    targets: DeliveryTargets,
    *,
    policy: DispatchPolicy | None = None,
) -> DispatchReport:
    """Rounds until one claims nothing: everything due now is delivered, retried or parked."""
    total = DispatchReport()
    for _ in range(MAX_DRAIN_ROUNDS):
        report = await dispatch_once(sessionmaker, targets, policy=policy)
        total.add(report)
        if report.claimed == 0:
            break
    return total


async def run_dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession],
    targets: DeliveryTargets,
    *,
    stop: asyncio.Event,
    policy: DispatchPolicy | None = None,
    idle_seconds: float = 1.0,
    error_pause_seconds: float = 5.0,
) -> None:
    """Rounds until `stop` is set: at once while there is work, else every `idle_seconds`."""
    log.info("event dispatcher started")
    open_claims: list[ClaimedEvent] = []
    while not stop.is_set():
        try:
            report = await dispatch_once(
                sessionmaker, targets, policy=policy, open_claims=open_claims
            )
        except Exception as error:  # the database away, say: keep trying, leases cover the gap
            if database_unreachable(error):  # one line: an outage is no bug to trace
                log.warning(
                    "event dispatch round failed, database unreachable: %s; next in %gs",
                    describe(error),
                    error_pause_seconds,
                )
            else:
                log.exception("event dispatch round failed; next in %gs", error_pause_seconds)
            pause = error_pause_seconds
        else:
            pause = 0.0 if report.claimed else idle_seconds
        if pause:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
    log.info("event dispatcher stopped")
