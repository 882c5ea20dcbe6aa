"""`manage.py orders ...` through main(argv): exit statuses, what it prints, audit lines.

main() runs its own event loop (asyncio.run), so each command runs in a thread of its own;
its SumUp is the test app's sandbox, reached through ASGI as the app's own jobs reach it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import manage
from cli.context import CliContext
from shared.config import Settings
from shared.db import make_engine, make_sessionmaker
from sumup.sandbox import sandbox_store
from tests.conftest import ArrivingFromOutside
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, start_session
from tests.http.payment_steps import press, start
from tests.integration.checkout_data import ANON
from tests.integration.payment_data import entry_state, placed_bakery_order, stored_order

Run = Callable[..., Any]


@pytest.fixture
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "audit.log"


@pytest.fixture
def run(app, settings: Settings, audit_log: Path, monkeypatch, capsys) -> Run:  # type: ignore[no-untyped-def]
    """run(*argv) -> (exit status, stdout, stderr) of manage.main(["orders", *argv])."""
    monkeypatch.setenv("APP_MODE", "development")
    monkeypatch.setenv("DATABASE_URL_ASYNC", settings.database_url)
    monkeypatch.setenv("CART_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("BACKGROUND_JOBS", "false")
    monkeypatch.setenv("AUDIT_LOG", str(audit_log))
    monkeypatch.delenv("REDIS_URL", raising=False)

    @asynccontextmanager
    async def context_reaching_the_sandbox(cli_settings: Settings) -> AsyncIterator[CliContext]:
        engine = make_engine(cli_settings.database_url)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=ArrivingFromOutside(app.app)))
        try:
            yield CliContext(cli_settings, engine, make_sessionmaker(engine), http, None)
        finally:
            await http.aclose()
            await engine.dispose()

    monkeypatch.setattr(manage, "cli_context", context_reaching_the_sandbox)

    async def _run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            status = await asyncio.to_thread(manage.main, ["orders", *argv])
        except SystemExit as exit_:  # argparse's usage errors
            status = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return _run


def _audit(audit_log: Path) -> list[dict[str, Any]]:
    if not audit_log.exists():
        return []
    return [json.loads(line) for line in audit_log.read_text().splitlines()]


async def test_orders_list_and_show(run: Run, db: AsyncSession, factory: Factory) -> None:
    placed = await placed_bakery_order(db, factory)

    listed = await run("list", "--status", "pending")
    shown = await run("show", placed.number)
    none_paid = await run("list", "--status", "paid")

    assert listed[0] == 0 and placed.number in listed[1] and placed.public_ref in listed[1]
    assert "£24.00" in listed[1]
    assert shown[0] == 0
    assert f"order {placed.number}  ref {placed.public_ref}  status pending" in shown[1]
    assert "2 x Bread  £2.50  = £5.00" in shown[1] and "payment attempts: none" in shown[1]
    assert none_paid == (0, "no orders\n", "")


async def test_orders_usage_errors_exit_2(run: Run) -> None:
    bad_status = await run("list", "--status", "lost")
    no_command = await run()
    missing_ref = await run("refund")

    assert bad_status[0] == 2 and "unknown status 'lost'" in bad_status[2]
    assert no_command[0] == 2 and missing_ref[0] == 2


async def test_orders_show_unknown_exits_1_with_one_line(run: Run) -> None:
    status, out, err = await run("show", "ZZZZ-ZZZZ")
    assert (status, out) == (1, "")
    assert err == "orders: No order with the reference or number 'ZZZZ-ZZZZ'.\n"


async def test_orders_cancel_writes_an_audit_line(
    run: Run, app, db: AsyncSession, factory: Factory, audit_log: Path
) -> None:
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)

    status, out, _ = await run("cancel", placed.number)
    again = await run("cancel", placed.number)

    assert status == 0 and f"order {placed.number} cancelled" in out
    assert (await stored_order(db, placed.order_id)).status == "cancelled"
    assert await entry_state(db, placed.cart.entry_id) == "pending"
    assert sandbox_store(app.app).get(started.sumup_checkout_id).status == "EXPIRED"
    assert again[0] == 1 and "is cancelled: only an unpaid order" in again[2]
    first, second = _audit(audit_log)
    assert (first["command"], first["target"], first["outcome"]) == (
        "orders cancel",
        placed.public_ref,
        "ok",
    )
    assert (second["outcome"], second["reason"]) == ("refused", "not_cancellable")


async def test_orders_refund_partial_then_refused_then_sumup_refusal(
    run: Run, app, client, db: AsyncSession, factory: Factory, audit_log: Path
) -> None:
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)
    await start_session(client, ANON.session_id)
    await press(client, started.hosted_checkout_url, "pay")

    partial = await run("refund", placed.public_ref, "--amount", "5.00")
    too_much = await run("refund", placed.public_ref, "--amount", "50")
    # Refunded in SumUp's dashboard behind our back: SumUp refuses the rest.
    [transaction] = sandbox_store(app.app).get(started.sumup_checkout_id).transactions
    sandbox_store(app.app).refund(transaction.merchant_code, transaction.id, {"amount": 19})
    refused = await run("refund", placed.public_ref)

    assert partial[0] == 0
    assert partial[1] == f"order {placed.number}: refunded £5.00; £19.00 left; status paid\n"
    assert too_much[0] == 1 and "only £19.00 of order" in too_much[2]
    assert refused == (
        1,
        "",
        f"orders: SumUp refused the refund of order {placed.number}: "
        "The transaction is not refundable in its current state\n",
    )
    lines = _audit(audit_log)
    assert [(x["command"], x["outcome"]) for x in lines] == [("orders refund", "ok")] + [
        ("orders refund", "refused")
    ] * 2
    assert (lines[0]["amount_minor"], lines[0]["refunded_minor"]) == (500, 500)
    assert lines[2]["reason"] == "refund_refused"
    assert all("key" not in json.dumps(x).lower() for x in lines)


async def test_orders_reconcile_and_expire_commands_audit_their_rounds(
    run: Run, db: AsyncSession, factory: Factory, audit_log: Path
) -> None:
    await placed_bakery_order(db, factory)  # young: neither job touches it

    reconciled = await run("reconcile")
    expired = await run("expire")

    assert reconciled == (0, "reconcile: 0 checked, 0 found paid []\n", "")
    assert expired[0] == 0 and "0 expired" in expired[1]
    assert [x["command"] for x in _audit(audit_log)] == ["orders reconcile", "orders expire"]


async def test_a_payment_landing_on_an_order_the_shopper_gave_up_is_in_the_list_for_a_refund(
    run: Run, app, client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    placed = await placed_bakery_order(db, factory)
    started = await start(app, db, placed.order_id)
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    await client.post(f"/orders/{placed.public_ref}/give-up", form={"csrf_token": TOKEN})
    # SumUp took the payment at the instant the checkout was being closed.
    store = sandbox_store(app.app)
    store.get(started.sumup_checkout_id).status = "PENDING"
    store.pay(started.sumup_checkout_id, succeed=True)
    await client.post(
        "/checkout/webhook",
        json={"event_type": "CHECKOUT_STATUS_CHANGED", "id": started.sumup_checkout_id},
    )

    listed = await run("list")
    shown = await run("show", placed.number)

    [line] = [line for line in listed[1].splitlines() if placed.number in line]
    assert "cancelled" in line and "ATTENTION" in line
    assert "paid while the order was cancelled; refund it" in shown[1]
