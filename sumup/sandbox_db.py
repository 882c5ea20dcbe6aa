"""The sandbox's checkouts in the app's database, seen by every process that serves it.

SUMUP_SANDBOX_STORE=database (the default in development): `hypercorn --workers N`, or
several hosts behind a proxy, each answer any checkout whichever process made it, as SumUp
does. The rules are sandbox_store.py's, the same functions the memory store runs; only
where a checkout is kept differs.

Two tables of the sandbox's own, `sandbox_checkouts` (one row a checkout: the columns it is
looked up and ordered by, a version, and the checkout itself as a JSON document) and
`sandbox_transactions` (which checkout a transaction id belongs to, for refunds). They are
made here, with CREATE TABLE IF NOT EXISTS, the first time a development process uses the
sandbox, and not by a migration, on purpose:

- production never creates nor reads them: the sandbox is never served in production mode
  (init_sumup_sandbox refuses), so nothing there ever reaches this module. A migration
  would make them wherever `manage.py migrate` runs, production included, unless it read
  the mode at migration time, and a database migrated in one mode may be served in another;
- they are not part of the cart's schema (shared.models.Base): alembic's history and the
  models stay the schema production runs, which tests/integration/test_migrations.py
  compares, and the tests' table emptying and the models know nothing of them;
- every process starts them the same way on SQLite and PostgreSQL, with no step to forget.
  On PostgreSQL, concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalogue,
  so processes starting together take turns on an advisory lock.

Races between processes (a Pay posted twice, Pay and a deactivate, two refunds) are settled
by the database: a change reads the row, applies the rule to the checkout, and writes it
back with `UPDATE ... WHERE id = :id AND version = :read`; a row count of 0 means another
process changed it first, and the change is tried again on what that one wrote (so a
second Pay on a paid checkout makes no second transaction). Creates take turns on
PostgreSQL (an advisory lock; SQLite has one writer at a time anyway), so the bound of
`max_checkouts` holds across processes. Reading a checkout writes nothing: one past its
30 minutes is shown EXPIRED, and stored so at its next change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from sumup.sandbox_store import (
    DECLINE_BUTTON,
    HOSTED_SESSION,
    MAX_CHECKOUTS,
    MAX_MERCHANT_CODE,
    MAX_REFERENCE,
    MAX_WEBHOOK_RECORDS,
    SandboxCheckout,
    SandboxRefusal,
    SandboxTransaction,
    checkout_not_found,
    deactivate_checkout,
    duplicated_checkout,
    expire_checkout,
    invalid,
    new_checkout,
    pay_checkout,
    refresh,
    refund_transaction,
    refundable,
    transaction_not_found,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Not shared.models.Base's metadata: these tables are not the cart's schema (see above).
metadata = MetaData()
checkouts = Table(
    "sandbox_checkouts",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order they came in
    Column("id", String(36), nullable=False, unique=True),
    Column("merchant_code", String(MAX_MERCHANT_CODE), nullable=False),
    Column("checkout_reference", String(MAX_REFERENCE), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_us", BigInteger, nullable=False),  # microseconds since 1970, UTC
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),  # the SandboxCheckout as JSON
    UniqueConstraint("merchant_code", "checkout_reference", name="uq_sandbox_checkouts_ref"),
)
Index("ix_sandbox_checkouts_reference", checkouts.c.checkout_reference)
transactions = Table(
    "sandbox_transactions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "checkout_id",
        String(36),
        ForeignKey("sandbox_checkouts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("merchant_code", String(MAX_MERCHANT_CODE), nullable=False),
)
Index("ix_sandbox_transactions_checkout", transactions.c.checkout_id)

# pg_advisory_xact_lock keys: "SUMUPSBX" and "SUMUPSBC" as 64-bit numbers.
TABLES_LOCK = 0x53554D5550534258
CREATES_LOCK = 0x53554D5550534243
# A change that loses the race reads again; only a storm of changes to one checkout loses
# this often (a checkout takes at most MAX_ATTEMPTS payments).
MAX_CHANGE_TRIES = 50
# The ids the sandbox makes (uuid4): anything else is no checkout or transaction of ours,
# answered at once without asking the database.
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _storable(value: str) -> bool:
    """Whether the database can hold `value` in a text column (PostgreSQL takes no NUL,
    and no text that is not UTF-8: a lone surrogate from a JSON escape)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def encode(checkout: SandboxCheckout) -> str:
    """The checkout as a JSON document (ASCII: any text of it is storable)."""
    return json.dumps(
        {
            "id": checkout.id,
            "checkout_reference": checkout.checkout_reference,
            "amount": str(checkout.amount),
            "currency": checkout.currency,
            "merchant_code": checkout.merchant_code,
            "description": checkout.description,
            "return_url": checkout.return_url,
            "redirect_url": checkout.redirect_url,
            "hosted": checkout.hosted,
            "created": checkout.created.isoformat(),
            "status": checkout.status,
            "transactions": [
                {
                    "id": t.id,
                    "transaction_code": t.transaction_code,
                    "amount": str(t.amount),
                    "currency": t.currency,
                    "merchant_code": t.merchant_code,
                    "status": t.status,
                    "timestamp": t.timestamp.isoformat(),
                    "refunded": str(t.refunded),
                    "decline_reason": t.decline_reason,
                }
                for t in checkout.transactions
            ],
        },
        sort_keys=True,
    )


def decode(document: str) -> SandboxCheckout:
    data = json.loads(document)
    return SandboxCheckout(
        id=data["id"],
        checkout_reference=data["checkout_reference"],
        amount=Decimal(data["amount"]),
        currency=data["currency"],
        merchant_code=data["merchant_code"],
        description=data["description"],
        return_url=data["return_url"],
        redirect_url=data["redirect_url"],
        hosted=data["hosted"],
        created=datetime.fromisoformat(data["created"]),
        status=data["status"],
        transactions=[
            SandboxTransaction(
                id=t["id"],
                transaction_code=t["transaction_code"],
                amount=Decimal(t["amount"]),
                currency=t["currency"],
                merchant_code=t["merchant_code"],
                status=t["status"],
                timestamp=datetime.fromisoformat(t["timestamp"]),
                refunded=Decimal(t["refunded"]),
                decline_reason=t["decline_reason"],
            )
            for t in data["transactions"]
        ],
    )


async def create_tables(connection: AsyncConnection) -> None:
    """The sandbox's tables, unless they are there (development only: see above)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TABLES_LOCK})
    for table in metadata.sorted_tables:
        await connection.execute(CreateTable(table, if_not_exists=True))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            await connection.execute(CreateIndex(index, if_not_exists=True))


async def drop_tables(connection: AsyncConnection) -> None:
    """For tests that made them on a database the migrations' check reads too."""
    for table in reversed(metadata.sorted_tables):
        await connection.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


class DatabaseSandboxStore:
    """The checkouts in the app's database; the async API the sandbox's routes use
    (sumup/sandbox_backend.py's SandboxBackend)."""

    def __init__(
        self,
        engine: Callable[[], AsyncEngine],
        *,
        now: Callable[[], datetime] | None = None,
        own_origin: str | None = None,
        max_checkouts: int = MAX_CHECKOUTS,
    ) -> None:
        # The app's engine, looked up when needed: it is made when the app starts serving.
        self._engine_of = engine
        self.now = now or (lambda: datetime.now(UTC))
        self.own_origin = own_origin
        self.max_checkouts = max_checkouts
        # Per process, as with SumUp's own retries: tests and operators steer them here.
        self.send_webhooks = True
        self.webhooks_sent: list[tuple[str, str]] = []
        self._tables_ready = False
        self._tables_lock = asyncio.Lock()

    def record_webhook(self, checkout_id: str, outcome: str) -> None:
        self.webhooks_sent.append((checkout_id, outcome))
        del self.webhooks_sent[:-MAX_WEBHOOK_RECORDS]

    async def _engine(self) -> AsyncEngine:
        engine = self._engine_of()
        if not self._tables_ready:
            async with self._tables_lock:
                if not self._tables_ready:
                    async with engine.begin() as connection:
                        await create_tables(connection)
                    self._tables_ready = True
        return engine

    # --- Reading ----------------------------------------------------------------------

    async def get(self, checkout_id: str) -> SandboxCheckout:
        if not _ID.fullmatch(checkout_id):
            raise checkout_not_found()
        async with (await self._engine()).connect() as connection:
            document = await connection.scalar(
                select(checkouts.c.document).where(checkouts.c.id == checkout_id)
            )
        if document is None:
            raise checkout_not_found()
        return refresh(decode(document), self.now())

    async def find(self, reference: str | None) -> list[SandboxCheckout]:
        query = select(checkouts.c.document).order_by(checkouts.c.seq)
        if reference is not None:
            if len(reference) > MAX_REFERENCE or not _storable(reference):
                return []  # no checkout was made with such a reference
            query = query.where(checkouts.c.checkout_reference == reference)
        async with (await self._engine()).connect() as connection:
            documents = (await connection.scalars(query)).all()
        now = self.now()
        return [refresh(decode(document), now) for document in documents]

    async def count(self) -> int:
        async with (await self._engine()).connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(checkouts)) or 0)

    # --- Changing ---------------------------------------------------------------------

    async def create(self, body: Any) -> SandboxCheckout:
        checkout = new_checkout(body, own_origin=self.own_origin, now=self.now())
        for name in ("merchant_code", "checkout_reference"):
            if not _storable(getattr(checkout, name)):
                raise invalid(name)
        engine = await self._engine()
        try:
            async with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Creates take turns, so the count below includes every other create.
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": CREATES_LOCK}
                    )
                # Written first: on SQLite this takes the write lock for the whole change.
                await connection.execute(
                    insert(checkouts).values(
                        id=checkout.id,
                        merchant_code=checkout.merchant_code,
                        checkout_reference=checkout.checkout_reference,
                        status=checkout.status,
                        created_us=_micros(checkout.created),
                        version=1,
                        document=encode(checkout),
                    )
                )
                await self._make_room(connection, keep=checkout.id)
        except IntegrityError:
            raise duplicated_checkout() from None
        return checkout

    async def _make_room(self, connection: AsyncConnection, *, keep: str) -> None:
        """Within the bound again: the oldest finished checkouts go first; the oldest of
        all when every one kept is still payable (only a flood of creates does that)."""
        kept = int(await connection.scalar(select(func.count()).select_from(checkouts)) or 0)
        cutoff = _micros(self.now() - HOSTED_SESSION)
        others = select(checkouts.c.id).where(checkouts.c.id != keep).order_by(checkouts.c.seq)
        while kept > max(self.max_checkouts, 1):
            victim = await connection.scalar(
                others.where(
                    or_(
                        checkouts.c.status.in_(("PAID", "EXPIRED")),
                        checkouts.c.created_us < cutoff,
                    )
                ).limit(1)
            )
            if victim is None:
                victim = await connection.scalar(others.limit(1))
                log.warning(
                    "sandbox store full (%d checkouts): checkout %s dropped while payable",
                    kept,
                    victim,
                )
            await connection.execute(
                delete(transactions).where(transactions.c.checkout_id == victim)
            )
            await connection.execute(delete(checkouts).where(checkouts.c.id == victim))
            kept -= 1

    async def _change(
        self,
        checkout_id: str,
        rule: Callable[[SandboxCheckout], T],
        *,
        missing: Callable[[], SandboxRefusal] = checkout_not_found,
    ) -> tuple[SandboxCheckout, T]:
        """Applies `rule` to the checkout as stored now and keeps the result, unless another
        process changed the checkout meanwhile: then again, on what that one kept. A
        refusal the rule raises changes nothing."""
        if not _ID.fullmatch(checkout_id):
            raise missing()
        engine = await self._engine()
        for _ in range(MAX_CHANGE_TRIES):
            async with engine.begin() as connection:
                row = (
                    await connection.execute(
                        select(checkouts.c.version, checkouts.c.document).where(
                            checkouts.c.id == checkout_id
                        )
                    )
                ).first()
                if row is None:
                    raise missing()
                checkout = refresh(decode(row.document), self.now())
                known = {t.id for t in checkout.transactions}
                result = rule(checkout)
                document = encode(checkout)
                if document == row.document:
                    return checkout, result
                changed = await connection.execute(
                    update(checkouts)
                    .where(checkouts.c.id == checkout_id, checkouts.c.version == row.version)
                    .values(version=row.version + 1, status=checkout.status, document=document)
                )
                if changed.rowcount != 1:
                    continue  # another process changed it first: read it again
                made = [
                    {"id": t.id, "checkout_id": checkout.id, "merchant_code": t.merchant_code}
                    for t in checkout.transactions
                    if t.id not in known
                ]
                if made:
                    await connection.execute(insert(transactions), made)
                return checkout, result
        raise RuntimeError(f"sandbox checkout {checkout_id} kept changing: gave up")

    async def deactivate(self, checkout_id: str) -> SandboxCheckout:
        checkout, _ = await self._change(checkout_id, deactivate_checkout)
        return checkout

    async def pay(
        self, checkout_id: str, *, succeed: bool, decline_reason: str = DECLINE_BUTTON
    ) -> tuple[SandboxCheckout, bool]:
        """The shopper's Pay (or Decline): the checkout, and whether a payment was made
        (False when it was no longer payable, another process's Pay included)."""

        def attempt(checkout: SandboxCheckout) -> bool:
            return pay_checkout(
                checkout, succeed=succeed, decline_reason=decline_reason, now=self.now()
            )

        return await self._change(checkout_id, attempt)

    async def expire(self, checkout_id: str) -> SandboxCheckout:
        checkout, _ = await self._change(checkout_id, expire_checkout)
        return checkout

    async def refund(self, merchant_code: str, transaction_id: str, body: Any) -> None:
        if not _ID.fullmatch(transaction_id) or not _storable(merchant_code):
            raise transaction_not_found()
        async with (await self._engine()).connect() as connection:
            checkout_id = await connection.scalar(
                select(transactions.c.checkout_id).where(
                    transactions.c.id == transaction_id,
                    transactions.c.merchant_code == merchant_code,
                )
            )
        if checkout_id is None:
            raise transaction_not_found()

        def refund(checkout: SandboxCheckout) -> None:
            transaction = refundable(checkout, transaction_id)
            if transaction is None:
                raise transaction_not_found()
            refund_transaction(transaction, body)

        await self._change(checkout_id, refund, missing=transaction_not_found)
