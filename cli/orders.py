"""`manage.py orders ...`: look at orders, run the order jobs, cancel and refund.

list [--status S] [--limit N]     newest first (S: pending, paid, expired, cancelled, refunded)
show <ref|number>                 one order: lines, payment attempts, refunds, attention
reconcile                         ask SumUp about payments not heard of for a while
expire                            expire orders left unpaid (bookings back to the cart)
cancel <ref|number>               cancel an unpaid order (its SumUp checkouts closed first)
refund <ref|number> [--amount A]  refund through SumUp: all that is left, or A (e.g. 5.00)

Exit status: 0 done, 1 refused or failed (one line on stderr), 2 bad usage. Every command
that changes something writes an audit line (AUDIT_LOG, default var/audit.log).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bp.cart.services.payment_settings import SumUpClients
from bp.order_ops.cancel import cancel_order
from bp.order_ops.errors import OrderOpsError
from bp.order_ops.expire import Expiry
from bp.order_ops.jobs import expiry_round, reconcile_round
from bp.order_ops.lookup import find_order, list_orders, parse_status
from bp.order_ops.refund import refund_order
from cli.audit import write_audit_line
from cli.context import CliContext
from services import register_domain_services
from shared.models import utcnow
from shared.money import format_money

OK, FAILED, USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    orders = subparsers.add_parser(
        "orders",
        help="orders: list, show, reconcile, expire, cancel, refund",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = orders.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list orders, newest first")
    listing.add_argument("--status", help="only orders in this status")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(handler=list_command)

    show = commands.add_parser("show", help="show one order")
    show.add_argument("order", help="the order's reference or number")
    show.set_defaults(handler=show_command)

    commands.add_parser("reconcile", help="ask SumUp about unheard-of payments").set_defaults(
        handler=reconcile_command
    )
    commands.add_parser("expire", help="expire orders left unpaid").set_defaults(
        handler=expire_command
    )

    cancel = commands.add_parser("cancel", help="cancel an unpaid order")
    cancel.add_argument("order", help="the order's reference or number")
    cancel.set_defaults(handler=cancel_command)

    refund = commands.add_parser("refund", help="refund a paid order through SumUp")
    refund.add_argument("order", help="the order's reference or number")
    refund.add_argument("--amount", help="in major units, e.g. 5.00 (default: all that is left)")
    refund.set_defaults(handler=refund_command)


def _clients(ctx: CliContext) -> SumUpClients:
    register_domain_services()  # the jobs release and confirm bookings through the registry
    return SumUpClients(ctx.http, ctx.settings)


def _refused(message: str, status: int = FAILED) -> int:
    print(f"orders: {message}", file=sys.stderr)
    return status


async def list_command(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        status = parse_status(args.status)
    except ValueError as error:
        return _refused(str(error), USAGE)
    if args.limit < 1:
        return _refused("--limit must be at least 1", USAGE)
    async with ctx.sessionmaker() as session:
        rows = await list_orders(session, status=status, limit=args.limit)
    for row in rows:
        refunded = (
            f" (refunded {format_money(row.refunded_minor, row.currency)})"
            if row.refunded_minor
            else ""
        )
        attention = "  ATTENTION" if row.attention_reason else ""
        print(
            f"{row.number}  {row.public_ref}  {row.status:<9}  {row.created_at:%Y-%m-%d %H:%M}  "
            f"{format_money(row.total_minor, row.currency)}{refunded}  page {row.page_id}"
            f"{attention}"
        )
    if not rows:
        print("no orders")
    return OK


async def show_command(args: argparse.Namespace, ctx: CliContext) -> int:
    async with ctx.sessionmaker() as session:
        try:
            order = await find_order(session, args.order)
        except OrderOpsError as error:
            return _refused(error.message)
        currency = order.currency

        def money(minor: int) -> str:
            return format_money(minor, currency)

        print(f"order {order.number}  ref {order.public_ref}  status {order.status}")
        print(f"created {order.created_at:%Y-%m-%d %H:%M:%S}  page {order.page_id}")
        owner = f"user {order.user_id}" if order.user_id is not None else "anonymous session"
        print(f"owner {owner}  total {money(order.total_minor)}")
        if order.paid_at is not None:
            print(f"paid {order.paid_at:%Y-%m-%d %H:%M:%S}")
        if order.refunded_minor:
            print(f"refunded {money(order.refunded_minor)}")
        if order.attention_reason:
            print(f"ATTENTION: {order.attention_reason}")
        print("lines:")
        for item in order.items:
            print(
                f"  {item.quantity} x {item.title}  {money(item.unit_price_minor)}"
                f"  = {money(item.line_total_minor)}"
            )
        print("payment attempts:" if order.payment_attempts else "payment attempts: none")
        for attempt in order.payment_attempts:
            print(
                f"  {attempt.checkout_reference}  {attempt.status}  "
                f"SumUp {attempt.sumup_checkout_id or '-'}  "
                f"transaction {attempt.transaction_code or '-'}"
            )
    return OK


async def reconcile_command(args: argparse.Namespace, ctx: CliContext) -> int:
    client_for = _clients(ctx)
    done = await reconcile_round(ctx.sessionmaker, client_for, ctx.settings, now=utcnow())
    outcome = "failed" if done.unreachable else "ok"
    write_audit_line(
        ctx.settings,
        command="orders reconcile",
        target="orders",
        outcome=outcome,
        checked=done.checked,
        paid=list(done.paid),
        unreachable=done.unreachable,
    )
    print(f"reconcile: {done.checked} checked, {len(done.paid)} found paid {list(done.paid)}")
    if done.unreachable:
        return _refused(f"SumUp could not be asked about {done.unreachable} payments")
    return OK


async def expire_command(args: argparse.Namespace, ctx: CliContext) -> int:
    client_for = _clients(ctx)
    done = await expiry_round(ctx.sessionmaker, client_for, ctx.settings, now=utcnow())
    unreachable = done.numbers(Expiry.UNREACHABLE)
    write_audit_line(
        ctx.settings,
        command="orders expire",
        target="orders",
        outcome="failed" if unreachable else "ok",
        **{str(outcome): numbers for outcome, numbers in done.outcomes.items()},
    )
    print(
        f"expire: {len(done.numbers(Expiry.EXPIRED))} expired {done.numbers(Expiry.EXPIRED)}, "
        f"{len(done.numbers(Expiry.PAID))} found paid {done.numbers(Expiry.PAID)}"
    )
    if unreachable:
        return _refused(f"SumUp could not be asked; not expired yet: {unreachable}")
    return OK


async def cancel_command(args: argparse.Namespace, ctx: CliContext) -> int:
    client_for = _clients(ctx)
    async with ctx.sessionmaker() as session:
        try:
            order = await cancel_order(
                session, ref_or_number=args.order, client_for=client_for, now=utcnow()
            )
        except OrderOpsError as error:
            write_audit_line(
                ctx.settings,
                command="orders cancel",
                target=args.order[:40],
                outcome="refused",
                reason=error.code,
            )
            return _refused(error.message)
    write_audit_line(ctx.settings, command="orders cancel", target=order.public_ref, outcome="ok")
    print(f"order {order.number} cancelled; its bookings are back in the shopper's cart")
    return OK


async def refund_command(args: argparse.Namespace, ctx: CliContext) -> int:
    client_for = _clients(ctx)
    async with ctx.sessionmaker() as session:
        try:
            done = await refund_order(
                session,
                ref_or_number=args.order,
                amount=args.amount,
                client_for=client_for,
                now=utcnow(),
            )
        except OrderOpsError as error:
            write_audit_line(
                ctx.settings,
                command="orders refund",
                target=args.order[:40],
                outcome="refused",
                reason=error.code,
                amount=args.amount,
                detail=error.message,
            )
            return _refused(error.message)
    write_audit_line(
        ctx.settings,
        command="orders refund",
        target=done.public_ref,
        outcome="ok",
        amount_minor=done.amount_minor,
        refunded_minor=done.refunded_minor,
        currency=done.currency,
        status=done.status,
    )
    left = done.total_minor - done.refunded_minor
    print(
        f"order {done.number}: refunded {format_money(done.amount_minor, done.currency)}; "
        f"{format_money(left, done.currency)} left; status {done.status}"
    )
    return OK
