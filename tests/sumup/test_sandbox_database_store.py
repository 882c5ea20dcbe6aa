"""The sandbox on its database store (SUMUP_SANDBOX_STORE=database, the default outside the
in-process tests): SumUp's API and the hosted page as on the memory store, every exchange
checked against SumUp's schemas; two apps on one database standing for two processes; races
settled by conditional UPDATEs; the tables made on first use in development, never in
production. On SQLite, and on PostgreSQL in CI."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import SANDBOX_PATH, Settings, load_settings
from shared.db import make_sessionmaker
from shared.http_client import HTTP_CLIENT_KEY
from sumup.client import SumUpCheckout, SumUpClient
from sumup.credentials import SANDBOX_API_KEY
from sumup.errors import CheckoutProcessed, SumUpNotFound, SumUpRefundError
from sumup.factory import make_sumup_client
from sumup.sandbox import sandbox_store
from sumup.sandbox_db import DatabaseSandboxStore, drop_tables
from sumup.sandbox_store import SandboxRefusal
from tests.sumup.conftest import CSRF, WebhookRecorder
from tests.sumup.spec_transport import SpecCheckingTransport

MERCHANT = "MSANDBOX1"
CART = "http://127.0.0.1:8002"
RETURN_URL = f"{CART}/checkout/webhook"
REDIRECT_URL = f"{CART}/checkout/return/abc"
SANDBOX_TABLES = {"sandbox_checkouts", "sandbox_transactions"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The tests' settings, with the sandbox on its database store."""
    return settings.with_overrides(
        sumup=dataclasses.replace(settings.sumup, sandbox_store="database")
    )


@pytest.fixture(autouse=True)
async def no_sandbox_tables_around(engine: AsyncEngine) -> AsyncIterator[None]:
    """Each test starts without them (so it sees them made) and leaves none behind: the
    check that the migrations match the models reads the same database."""
    async with engine.begin() as connection:
        await drop_tables(connection)
    yield
    async with engine.begin() as connection:
        await drop_tables(connection)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def create(
    sumup: SumUpClient, reference: str = "coop-ref-1", **changes: object
) -> SumUpCheckout:
    args: dict[str, object] = {
        "checkout_reference": reference,
        "amount_minor": 1250,
        "currency": "GBP",
        "merchant_code": MERCHANT,
        "description": "Order 7KQ4-MZ2P",
        "return_url": RETURN_URL,
        "redirect_url": REDIRECT_URL,
    }
    args.update(changes)
    return await sumup.create_hosted_checkout(**args)  # type: ignore[arg-type]


def page_path(checkout: SumUpCheckout) -> str:
    assert checkout.hosted_checkout_url
    return checkout.hosted_checkout_url.removeprefix(CART)


@dataclasses.dataclass
class Process:
    """A second app on the same database: another process, as far as the store can tell."""

    app: object
    sumup: SumUpClient
    spec: SpecCheckingTransport
    webhooks: WebhookRecorder

    @property
    def store(self) -> DatabaseSandboxStore:
        return sandbox_store(self.app.app)  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def other_process(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Process]:
    from app import create_app

    quart_app = create_app(settings)
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    recorder = WebhookRecorder()
    quart_app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(
        transport=httpx.MockTransport(recorder)
    )
    spec = SpecCheckingTransport(
        httpx.ASGITransport(app=quart_app),  # type: ignore[arg-type]
        api_prefix=SANDBOX_PATH,
    )
    async with quart_app.test_app() as test_app, httpx.AsyncClient(transport=spec) as http:
        yield Process(test_app, make_sumup_client(http, settings), spec, recorder)


async def test_the_api_and_the_page_work_on_the_database_as_sumup_documents_them(
    shopper,
    sumup: SumUpClient,
    spec: SpecCheckingTransport,
    webhooks: WebhookRecorder,
    store: DatabaseSandboxStore,
) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(store, DatabaseSandboxStore)
    created = await create(sumup, amount_minor=123456789)
    again = await create(sumup, amount_minor=123456789)  # 409, then the first one is found
    assert again == created and created.status == "PENDING"
    assert await sumup.get_checkout(created.id) == created
    assert await sumup.find_checkout_by_reference("coop-ref-2") is None

    page = await (await shopper.get(page_path(created))).get_data(as_text=True)
    assert "Pay £1,234,567.89" in page
    declined = await shopper.post(
        f"{page_path(created)}/pay", form={"csrf_token": CSRF, "card_number": "4000000000000002"}
    )
    assert declined.status_code == 303
    page = await (await shopper.get(page_path(created))).get_data(as_text=True)
    assert "Declined by the card issuer (test card)" in page
    paid = await shopper.post(f"{page_path(created)}/pay", form={"csrf_token": CSRF})
    assert paid.headers["Location"] == REDIRECT_URL

    checkout = await sumup.get_checkout(created.id)
    assert checkout.status == "PAID" and checkout.transaction_id
    assert [json.loads(body)["id"] for _url, body, _type in webhooks.received] == [created.id] * 2
    assert store.webhooks_sent == [(created.id, "204"), (created.id, "204")]
    with pytest.raises(CheckoutProcessed):
        await sumup.deactivate_checkout(created.id)

    refund = {"merchant_code": MERCHANT, "transaction_id": checkout.transaction_id}
    await sumup.refund_transaction(**refund, amount_minor=500, currency="GBP")
    with pytest.raises(SumUpRefundError):
        await sumup.refund_transaction(**refund, amount_minor=123456789, currency="GBP")
    await sumup.refund_transaction(**refund, amount_minor=None, currency="GBP")
    [kept] = await store.find(None)
    assert [(t.status, t.refunded) for t in kept.transactions] == [
        ("FAILED", Decimal(0)),
        ("REFUNDED", Decimal("1234567.89")),
    ]

    other = await create(sumup, "coop-ref-2")
    assert (await sumup.deactivate_checkout(other.id)).status == "EXPIRED"
    assert await store.count() == 2
    assert [(e.method, e.status) for e in spec.exchanges] == [
        ("POST", 201),
        ("POST", 409),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
        ("DELETE", 409),
        ("POST", 201),
        ("POST", 422),
        ("POST", 201),
        ("POST", 201),
        ("DELETE", 200),
    ]


async def test_a_checkout_made_by_one_process_is_paid_on_another(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, other_process: Process
) -> None:  # type: ignore[no-untyped-def]
    created = await create(sumup)  # by this app

    # The hosted page and Pay, on the other one.
    other = other_process.app.test_client()  # type: ignore[attr-defined]
    async with other.session_transaction() as session:
        session["csrf_token"] = CSRF
    page = await other.get(page_path(created))
    paid = await other.post(f"{page_path(created)}/pay", form={"csrf_token": CSRF})

    assert page.status_code == 200 and "Pay £12.50" in await page.get_data(as_text=True)
    assert paid.status_code == 303
    assert (await sumup.get_checkout(created.id)).status == "PAID"  # seen by the first
    assert await other_process.sumup.find_checkout_by_reference("coop-ref-1") is not None
    # The process that took the Pay sent the webhook; the first one sent none.
    assert len(other_process.webhooks.received) == 1 and webhooks.received == []
    duplicate = await other_process.sumup.create_hosted_checkout(
        checkout_reference="coop-ref-1",
        amount_minor=1250,
        currency="GBP",
        merchant_code=MERCHANT,
        description="again",
        return_url=RETURN_URL,
        redirect_url=REDIRECT_URL,
    )
    assert duplicate.id == created.id  # 409 on the other process too, then found
    assert [e.status for e in other_process.spec.exchanges] == [200, 409, 200]


async def test_pays_racing_on_two_processes_make_one_payment(
    sumup: SumUpClient, store: DatabaseSandboxStore, other_process: Process
) -> None:
    created = await create(sumup)
    results = await asyncio.gather(
        *(
            (store if n % 2 else other_process.store).pay(created.id, succeed=n % 3 != 0)
            for n in range(12)
        )
    )

    made = [paid_or_declined for _checkout, paid_or_declined in results]
    kept = await store.get(created.id)
    # Each attempt that says it made a payment is one transaction; a success ends the
    # checkout, so at most one succeeded and nothing came after it.
    assert made.count(True) == len(kept.transactions) >= 1
    statuses = [t.status for t in kept.transactions]
    assert statuses.count("SUCCESSFUL") <= 1
    assert "SUCCESSFUL" not in statuses[:-1]
    assert kept.status == ("PAID" if statuses[-1] == "SUCCESSFUL" else "FAILED")


async def test_a_pay_racing_on_each_process_pays_once(
    sumup: SumUpClient, store: DatabaseSandboxStore, other_process: Process
) -> None:
    created = await create(sumup)
    results = await asyncio.gather(
        *((store, other_process.store)[n % 2].pay(created.id, succeed=True) for n in range(10))
    )

    assert [made for _c, made in results].count(True) == 1
    kept = await other_process.store.get(created.id)
    assert kept.status == "PAID" and len(kept.transactions) == 1


async def test_full_refunds_racing_on_two_processes_refund_once(
    sumup: SumUpClient, store: DatabaseSandboxStore, other_process: Process
) -> None:
    created = await create(sumup)
    checkout, _ = await store.pay(created.id, succeed=True)
    [transaction] = checkout.transactions

    outcomes = await asyncio.gather(
        *(
            (store, other_process.store)[n % 2].refund(MERCHANT, transaction.id, None)
            for n in range(6)
        ),
        return_exceptions=True,
    )

    assert outcomes.count(None) == 1
    refused = [o for o in outcomes if o is not None]
    assert all(isinstance(o, SandboxRefusal) and o.status == 409 for o in refused)
    [kept] = (await store.get(created.id)).transactions
    assert (kept.status, kept.refunded) == ("REFUNDED", Decimal("12.50"))


async def test_the_bound_holds_across_processes_oldest_finished_first(
    sumup: SumUpClient, store: DatabaseSandboxStore, other_process: Process
) -> None:
    store.max_checkouts = other_process.store.max_checkouts = 3
    first = await create(sumup, "coop-ref-1")
    paid = await create(other_process.sumup, "coop-ref-2")
    third = await create(sumup, "coop-ref-3")
    await other_process.store.pay(paid.id, succeed=True)

    fourth = await create(sumup, "coop-ref-4")  # room made by the paid one, though newer
    assert [c.id for c in await other_process.store.find(None)] == [first.id, third.id, fourth.id]
    with pytest.raises(SumUpNotFound):
        await other_process.sumup.get_checkout(paid.id)

    fifth = await create(other_process.sumup, "coop-ref-5")  # all payable: the oldest goes
    assert [c.id for c in await store.find(None)] == [third.id, fourth.id, fifth.id]

    started = store.now()
    store.now = lambda: started + timedelta(minutes=31)  # all past their 30 minutes
    sixth = await create(sumup, "coop-ref-6")
    assert [c.id for c in await store.find(None)] == [fourth.id, fifth.id, sixth.id]
    assert [c.status for c in await store.find(None)] == ["EXPIRED", "EXPIRED", "PENDING"]
    assert await store.count() == 3


async def test_creates_racing_on_two_processes_keep_the_bound(
    store: DatabaseSandboxStore, other_process: Process
) -> None:
    store.max_checkouts = other_process.store.max_checkouts = 5
    body = {"amount": 1, "currency": "GBP", "merchant_code": MERCHANT, "return_url": RETURN_URL}

    await asyncio.gather(
        *(
            (store, other_process.store)[n % 2].create({**body, "checkout_reference": f"r-{n}"})
            for n in range(16)
        )
    )

    assert await store.count() == 5


async def test_past_its_30_minutes_a_checkout_reads_expired_and_cannot_be_paid(
    sumup: SumUpClient, store: DatabaseSandboxStore, other_process: Process
) -> None:
    created = await create(sumup)
    started = store.now()
    store.now = lambda: started + timedelta(minutes=31)

    assert (await store.get(created.id)).status == "EXPIRED"
    checkout, made = await store.pay(created.id, succeed=True)

    assert (checkout.status, made, checkout.transactions) == ("EXPIRED", False, [])
    # Stored so at that change: another process reads it, whatever its clock says.
    [kept] = await other_process.store.find("coop-ref-1")
    assert kept.status == "EXPIRED"


async def test_what_the_database_cannot_hold_is_refused_or_not_found(
    spec: SpecCheckingTransport, store: DatabaseSandboxStore
) -> None:
    spec.check_requests = False  # a reference SumUp's schema takes, but PostgreSQL cannot
    async with httpx.AsyncClient(transport=spec, base_url=CART) as http:
        response = await http.post(
            f"{SANDBOX_PATH}/v0.1/checkouts",
            headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"},
            content=json.dumps(
                {
                    "checkout_reference": "ref\u0000",
                    "amount": 1,
                    "currency": "GBP",
                    "merchant_code": MERCHANT,
                }
            ),
        )

    assert (response.status_code, response.json()["param"]) == (400, "checkout_reference")
    for lookup in (
        store.get("x\x00"),
        store.get("not-a-uuid"),
        store.refund(MERCHANT, "\ud800", None),
        store.pay("0" * 8 + "-0000-0000-0000-" + "0" * 12, succeed=True),
    ):
        with pytest.raises(SandboxRefusal) as refused:
            await lookup
        assert refused.value.status == 404
    assert await store.find("\x00") == [] and await store.find("r" * 91) == []


async def test_the_tables_are_made_at_first_use_once_for_processes_starting_together(
    engine: AsyncEngine, store: DatabaseSandboxStore, other_process: Process
) -> None:
    assert not SANDBOX_TABLES & await table_names(engine)  # the app started: none yet

    await asyncio.gather(store.find(None), other_process.store.find(None), store.count())

    assert SANDBOX_TABLES <= await table_names(engine)


async def test_production_never_makes_the_sandbox_tables(
    database_url: str, var_dir: Path, engine: AsyncEngine
) -> None:
    from app import create_app

    production = load_settings(
        {
            "APP_MODE": "production",
            "SECRET_KEY": "p" * 40,
            "DATABASE_URL_ASYNC": database_url,
            "CART_VAR_DIR": str(var_dir),
            "SUMUP_SANDBOX_STORE": "database",  # said, and not used: no sandbox at all
        }
    )
    quart_app = create_app(production)
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    auth = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    async with quart_app.test_app() as test_app:
        client = test_app.test_client()
        statuses = [
            (await client.get(f"{SANDBOX_PATH}/v0.1/checkouts", headers=auth)).status_code,
            (await client.get(f"{SANDBOX_PATH}/pay/x")).status_code,
            (await client.get("/cart/")).status_code,
        ]

    assert statuses == [404, 404, 200]
    assert "sumup_sandbox" not in quart_app.extensions
    assert not SANDBOX_TABLES & await table_names(engine)
