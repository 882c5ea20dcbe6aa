"""`manage.py events ...`: the outbox dispatcher on its own, parked events, replays.

dispatch [--once]   deliver events until stopped (SIGINT/SIGTERM), or what is due now
parked              the delivery backlog and the parked events, with their last error
replay <n|id>       un-park one event (its number or event id): due now, attempts from 0
replay --all        un-park every parked event
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from cli.audit import write_audit_line
from cli.context import CliContext
from shared.events.background import delivery_targets
from shared.events.claims import Outcome
from shared.events.dispatcher import DeliveryTargets, drain, run_dispatcher
from shared.events.parked import delivery_backlog, parked_events, replay_parked
from shared.events.subscribers import subscribers_of

# Exit statuses shared by every group: done, refused or failed, bad usage.
OK, FAILED, USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    events = subparsers.add_parser(
        "events",
        help="domain events: deliver them, list parked ones, replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = events.add_subparsers(dest="command", required=True)

    dispatch = commands.add_parser("dispatch", help="deliver events from the outbox")
    dispatch.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    dispatch.set_defaults(handler=dispatch_command)

    commands.add_parser("parked", help="list parked events").set_defaults(handler=parked_command)

    replay = commands.add_parser("replay", help="un-park events so they are delivered again")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("event", nargs="?", help="the event's number or event id")
    which.add_argument("--all", action="store_true", help="every parked event")
    replay.set_defaults(handler=replay_command)


def _targets(ctx: CliContext) -> DeliveryTargets:
    # The app's own in-process subscribers, wired where the app is made, so that running
    # the dispatcher here or inside the app delivers to the same handlers.
    from app import create_app

    return delivery_targets(ctx.settings, subscribers_of(create_app(ctx.settings)), ctx.redis)


async def dispatch_command(args: argparse.Namespace, ctx: CliContext) -> int:
    targets = _targets(ctx)
    if not args.once:
        return await _dispatch_until_stopped(ctx, targets)
    report = await drain(ctx.sessionmaker, targets)
    failed = report.outcomes[Outcome.RETRYING] + report.outcomes[Outcome.PARKED]
    write_audit_line(
        ctx.settings,
        command="events dispatch --once",
        target="outbox",
        outcome="failed" if failed else "ok",
        claimed=report.claimed,
        **{str(outcome): count for outcome, count in report.outcomes.items()},
    )
    print(f"events: {report}")
    if failed:
        print(
            f"events: {failed} deliveries failed; `manage.py events parked` shows parked ones",
            file=sys.stderr,
        )
        return FAILED
    return OK


async def _dispatch_until_stopped(ctx: CliContext, targets: DeliveryTargets) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print("events: dispatching; Ctrl-C stops", file=sys.stderr)
    try:
        await run_dispatcher(ctx.sessionmaker, targets, stop=stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return OK


async def parked_command(args: argparse.Namespace, ctx: CliContext) -> int:
    async with ctx.sessionmaker() as session:
        backlog = await delivery_backlog(session)
        parked = await parked_events(session)
    print(f"{backlog.undelivered} undelivered events, {backlog.parked} parked")
    for event in parked:
        print(
            f"#{event.id}  {event.event_id}  {event.type}  order {event.aggregate_id}  "
            f"{event.attempts} attempts  parked {event.parked_at.isoformat(timespec='seconds')}"
        )
        print(f"    {event.last_error or '(no error recorded)'}")
    return OK


async def replay_command(args: argparse.Namespace, ctx: CliContext) -> int:
    which: str | None = None if args.all else args.event
    target = "all parked events" if which is None else which
    try:
        async with ctx.sessionmaker() as session:
            replayed = await replay_parked(session, which=which)
    except ValueError as error:
        print(f"events: {error}", file=sys.stderr)
        return USAGE
    write_audit_line(
        ctx.settings,
        command="events replay",
        target=target,
        outcome="replayed" if replayed else "refused",
        event_numbers=replayed,
    )
    if not replayed:
        reason = "no parked events" if which is None else f"event {which} is not parked"
        print(f"events: {reason}", file=sys.stderr)
        return FAILED
    print(f"events: replayed {len(replayed)}: " + ", ".join(f"#{n}" for n in replayed))
    return OK
