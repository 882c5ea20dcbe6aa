"""Start paying an order: a SumUp hosted checkout per payment attempt.

No network call happens inside a transaction: the attempt is recorded (CREATING, with its
checkout reference) and committed, then SumUp is asked, then its answer is recorded in a
new transaction. An attempt left CREATING (SumUp's answer was lost, or it never answered)
is retried with the same reference: SumUp answers 409 DUPLICATED_CHECKOUT when the first
create went through, and the client finds that checkout, so a lost answer never makes a
second checkout.

One payable checkout per order at a time: a PENDING one is offered again rather than a new
one made, and a FAILED one (which SumUp would still let the shopper pay) is deactivated
before its successor is made, so nobody pays one order twice by paying two checkouts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bp.cart.services.check_sumup_status import Outcome, record_checkout
from bp.cart.services.payment_errors import PaymentError
from bp.cart.services.payment_settings import PaymentSettings, SumUpClients, payment_settings_for
from models.order import Order, OrderStatus
from models.payment_attempt import AttemptStatus, PaymentAttempt
from shared.config import ConfigError, Settings
from shared.interfaces import Owner
from shared.models import utcnow
from sumup.client import SumUpCheckout, SumUpClient
from sumup.errors import CheckoutProcessed, SumUpError, SumUpNotFound

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/checkout/webhook"
RETURN_PATH = "/checkout/return/{public_ref}"
REFERENCE_LENGTH = 64  # SumUp's safe limit, and PaymentAttempt.checkout_reference
_PUBLIC_REF = re.compile(r"[A-Za-z0-9_-]{1,32}")  # Order.public_ref


@dataclass(frozen=True)
class PaymentUrls:
    """Where SumUp sends the webhook and the shopper: built from the configured public
    URL of the cart service, never from a request's Host header."""

    cart_base: str

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentUrls:
        return cls(settings.app_urls["cart"].rstrip("/"))

    @property
    def webhook(self) -> str:
        return self.cart_base + WEBHOOK_PATH

    def return_page(self, public_ref: str) -> str:
        return self.cart_base + RETURN_PATH.format(public_ref=public_ref)


@dataclass(frozen=True)
class _OrderState:
    id: int
    number: str
    public_ref: str
    page_id: int | None
    status: str
    total_minor: int
    currency: str


@dataclass(frozen=True)
class _AttemptState:
    id: int
    status: str
    checkout_reference: str
    sumup_checkout_id: str | None
    hosted_checkout_url: str | None


async def start_payment(
    session: AsyncSession,
    *,
    order: Order,
    http: httpx.AsyncClient,
    settings: Settings,
    urls: PaymentUrls,
) -> PaymentAttempt:
    """A payment attempt whose `hosted_checkout_url` the shopper can pay now; commits.

    Raises PaymentError (carrying the order's public_ref) when no payment can be started:
    SumUp did not answer or refused, payments are not configured, or the order is paid
    already or no longer payable. The order itself stays as it was.
    """
    clients = SumUpClients(http, settings)
    state = await _order_state(session, order.id)
    account = await payment_settings_for(session, page_id=state.page_id, site=settings.sumup)
    await session.commit()  # nothing stays open across the calls to SumUp below
    if account.currency != state.currency:
        log.error(
            "order %s is in %s but its SumUp account takes %s",
            state.number,
            state.currency,
            account.currency,
        )
        raise _error("currency_not_accepted", state, currency=state.currency)
    try:
        client = clients(account)
    except ConfigError as error:
        log.error("order %s: SumUp is not configured: %s", state.number, error)
        raise _error("payment_not_configured", state) from None

    try:
        attempt_id = await _payable_attempt(
            session, state=state, account=account, client=client, urls=urls
        )
    except SumUpError as error:
        # The code and SumUp's message only: the client keeps the key out of both.
        log.warning("order %s: SumUp could not start a payment: %s", state.number, error)
        raise _error("payment_unavailable", state) from None

    payable = await session.get(PaymentAttempt, attempt_id, populate_existing=True)
    assert payable is not None  # attempts are never deleted
    if not payable.hosted_checkout_url:
        log.warning(
            "order %s: SumUp's checkout %s has no hosted page",
            state.number,
            payable.checkout_reference,
        )
        raise _error("payment_unavailable", state)
    return payable


async def pay_again(
    session: AsyncSession,
    *,
    owner: Owner | None,
    public_ref: str,
    http: httpx.AsyncClient,
    settings: Settings,
    urls: PaymentUrls,
) -> PaymentAttempt:
    """The owner's "Pay again": a new payment of their pending order (see start_payment)."""
    order = await owned_order(session, owner=owner, public_ref=public_ref)
    if order is None:
        raise PaymentError("order_unknown")
    return await start_payment(session, order=order, http=http, settings=settings, urls=urls)


async def owned_order(
    session: AsyncSession, *, owner: Owner | None, public_ref: str, with_items: bool = False
) -> Order | None:
    """The order with that reference if it is the owner's; another shopper's is None."""
    # What secrets.token_urlsafe makes, and nothing else reaches the database (PostgreSQL
    # refuses a NUL in a string outright).
    if owner is None or not _PUBLIC_REF.fullmatch(public_ref):
        return None
    if owner.user_id is not None:
        mine = Order.user_id == owner.user_id
    else:
        mine = (Order.session_id == owner.session_id) & Order.user_id.is_(None)
    query = select(Order).where(Order.public_ref == public_ref, mine)
    if with_items:
        query = query.options(selectinload(Order.items))
    return (
        await session.execute(query.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def _payable_attempt(
    session: AsyncSession,
    *,
    state: _OrderState,
    account: PaymentSettings,
    client: SumUpClient,
    urls: PaymentUrls,
) -> int:
    """The id of an attempt with a checkout the shopper can pay now."""
    for _ in range(3):
        attempt = await _attempt_to_pay(session, state=state, account=account, client=client)
        if attempt.status != AttemptStatus.CREATING:
            return attempt.id
        checkout = await client.create_hosted_checkout(
            checkout_reference=attempt.checkout_reference,
            amount_minor=state.total_minor,
            currency=state.currency,
            merchant_code=account.merchant_code,
            description=f"Order {state.number}",
            return_url=urls.webhook,
            redirect_url=urls.return_page(state.public_ref),
        )
        await _record_created(
            session,
            attempt_id=attempt.id,
            checkout_id=checkout.id,
            url=checkout.hosted_checkout_url,
        )
        # A retried create may find its checkout paid or expired already (the 409 path).
        outcome = await _record_unless_paid(
            session, state=state, attempt_id=attempt.id, checkout=checkout
        )
        if outcome != Outcome.EXPIRED:
            return attempt.id
        # A retried create found its checkout expired: the next round makes a new one.
    raise _error("payment_unavailable", state)


async def _attempt_to_pay(
    session: AsyncSession, *, state: _OrderState, account: PaymentSettings, client: SumUpClient
) -> _AttemptState:
    """The attempt to offer: the live PENDING one, an unfinished CREATING one, or a new one.

    Two requests making the order's next attempt at once draw the same reference; the unique
    index lets one insert it, and the other takes that attempt (and retries its create,
    which the 409 path makes harmless).
    """
    for _ in range(3):
        # Counted with the decision, before any call to SumUp: a request that decides on
        # this view and then finds the next number taken has lost the race (see below).
        made_before = await _attempt_count(session, state.id)
        latest = await _latest_attempt(session, state.id)
        current = await _order_status(session, state.id)
        await session.commit()
        if current == OrderStatus.PAID:
            raise _error("order_paid", state)
        if current != OrderStatus.PENDING:
            raise _error("order_not_payable", state, status=current)
        if latest is not None and latest.status == AttemptStatus.CREATING:
            return latest
        if latest is not None and latest.status == AttemptStatus.PAID:
            # Paid at SumUp but not accepted (an amount that does not match): a person
            # sorts it out; paying once more would only add to it.
            raise _error("order_needs_attention", state)
        if latest is not None and latest.sumup_checkout_id is not None:
            latest = await _refresh(session, state=state, attempt=latest, client=client)
            if latest.status == AttemptStatus.PENDING:
                return latest
        made = await _new_attempt(session, state=state, account=account, number=made_before + 1)
        if made is not None:
            return made
    raise _error("payment_unavailable", state)


async def _refresh(
    session: AsyncSession, *, state: _OrderState, attempt: _AttemptState, client: SumUpClient
) -> _AttemptState:
    """SumUp's present word on the latest attempt; a FAILED one is deactivated for good."""
    assert attempt.sumup_checkout_id is not None
    if attempt.status in (AttemptStatus.PENDING, AttemptStatus.FAILED):
        checkout = await client.get_checkout(attempt.sumup_checkout_id)
        outcome = await _record_unless_paid(
            session, state=state, attempt_id=attempt.id, checkout=checkout
        )
        if outcome == Outcome.FAILED:
            closed = await _deactivate(client, attempt.sumup_checkout_id)
            if closed is not None:
                await _record_unless_paid(
                    session, state=state, attempt_id=attempt.id, checkout=closed
                )
    return await _attempt_by_id(session, attempt.id)


async def _deactivate(client: SumUpClient, checkout_id: str) -> SumUpCheckout | None:
    """Close a checkout at SumUp; its state after (None: SumUp does not know it)."""
    try:
        return await client.deactivate_checkout(checkout_id)
    except CheckoutProcessed:
        # Paid between the two calls: that is what gets recorded.
        return await client.get_checkout(checkout_id)
    except SumUpNotFound:
        return None


async def _record_unless_paid(
    session: AsyncSession, *, state: _OrderState, attempt_id: int, checkout: SumUpCheckout
) -> Outcome:
    """Record SumUp's answer; a paid checkout ends the starting of another."""
    result = await record_checkout(session, attempt_id=attempt_id, checkout=checkout)
    if result.outcome == Outcome.PAID:
        raise _error("order_paid", state)
    if result.outcome == Outcome.NEEDS_ATTENTION:
        raise _error("order_needs_attention", state)
    return result.outcome


async def _new_attempt(
    session: AsyncSession, *, state: _OrderState, account: PaymentSettings, number: int
) -> _AttemptState | None:
    """Insert the order's attempt `number`, CREATING, and commit; None if that number is
    taken (another request made it since this one looked)."""
    reference = f"{account.checkout_reference_prefix}-{state.public_ref}-{number}"
    if len(reference) > REFERENCE_LENGTH:
        raise ValueError(f"checkout reference {reference!r} is longer than {REFERENCE_LENGTH}")
    attempt = PaymentAttempt(
        order_id=state.id,
        checkout_reference=reference,
        status=AttemptStatus.CREATING,
        merchant_code=account.merchant_code,
        amount_minor=state.total_minor,
        currency=state.currency,
    )
    session.add(attempt)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return None
    return _AttemptState(attempt.id, attempt.status, reference, None, None)


async def _record_created(
    session: AsyncSession, *, attempt_id: int, checkout_id: str, url: str | None
) -> None:
    # Racing creates of one reference get the same checkout back (the 409 path), so either
    # may write; a different id for a recorded attempt is never overwritten.
    await session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.id == attempt_id,
            PaymentAttempt.sumup_checkout_id.is_(None)
            | (PaymentAttempt.sumup_checkout_id == checkout_id),
        )
        .values(
            sumup_checkout_id=checkout_id,
            hosted_checkout_url=url,
            status=AttemptStatus.PENDING,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


async def _order_state(session: AsyncSession, order_id: int) -> _OrderState:
    row = (
        await session.execute(
            select(
                Order.id,
                Order.number,
                Order.public_ref,
                Order.page_id,
                Order.status,
                Order.total_minor,
                Order.currency,
            ).where(Order.id == order_id)
        )
    ).one()
    return _OrderState(*row)


async def _order_status(session: AsyncSession, order_id: int) -> str:
    return (await session.execute(select(Order.status).where(Order.id == order_id))).scalar_one()


_ATTEMPT_COLUMNS = (
    PaymentAttempt.id,
    PaymentAttempt.status,
    PaymentAttempt.checkout_reference,
    PaymentAttempt.sumup_checkout_id,
    PaymentAttempt.hosted_checkout_url,
)


async def _attempt_count(session: AsyncSession, order_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(PaymentAttempt).where(PaymentAttempt.order_id == order_id)
    )
    return int(count or 0)


async def _latest_attempt(session: AsyncSession, order_id: int) -> _AttemptState | None:
    row = (
        await session.execute(
            select(*_ATTEMPT_COLUMNS)
            .where(PaymentAttempt.order_id == order_id)
            .order_by(PaymentAttempt.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else _AttemptState(*row)


async def _attempt_by_id(session: AsyncSession, attempt_id: int) -> _AttemptState:
    row = (
        await session.execute(select(*_ATTEMPT_COLUMNS).where(PaymentAttempt.id == attempt_id))
    ).one()
    return _AttemptState(*row)


def _error(code: str, state: _OrderState, **params: str) -> PaymentError:
    return PaymentError(code, public_ref=state.public_ref, number=state.number, **params)
