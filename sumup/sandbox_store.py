"""The sandbox's checkouts: what SumUp keeps, and SumUp's rules for changing it.

The rules are functions on one checkout (new_checkout, refresh, pay_checkout, ...), kept by
one of two stores:

- SandboxStore, here: one process's memory (SUMUP_SANDBOX_STORE=memory). The in-process
  tests use it (a fresh store per app, so tests cannot see each other's checkouts, and they
  read and steer it directly). Every change is a synchronous method (no await between
  reading and writing), so concurrent requests on the event loop cannot interleave inside one.
- DatabaseSandboxStore (sumup/sandbox_db.py): tables of the sandbox's own in the app's
  database (SUMUP_SANDBOX_STORE=database, the default), so that every process of a
  development deployment (hypercorn --workers N, several hosts) sees every checkout.

Neither exists in production, where SumUp keeps this state.

Bounded, because anyone who reaches the app can call it (the sandbox key is no secret):
at most `max_checkouts` checkouts (the oldest finished one goes first to make room for a
new one, the oldest of all when none is finished), at most MAX_ATTEMPTS payment attempts
per checkout, every text field of a bounded length, amounts read from the JSON text without
ever computing with an exponent (JsonNumber, read_amount), and return_url and redirect_url
only on the cart service's own origin (same_origin), so the sandbox never posts its webhook
to, or sends a shopper to, anywhere else.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from babel.numbers import get_currency_precision

from shared.money import major_to_minor, minor_to_major

log = logging.getLogger(__name__)

# SumUp's Currency enum (openapi.json).
CURRENCIES = frozenset("BGN BRL CHF CLP COP CZK DKK EUR GBP HRK HUF NOK PLN RON SEK USD".split())
# The hosted page's test cards: what the shopper types decides the outcome, never the amount
# (a demo cart can reach any total). The page is prefilled with the card that pays.
TEST_CARD_PAYS = "4242424242424242"
TEST_CARD_DECLINES = "4000000000000002"
CARD_DECLINED = "Declined by the card issuer (test card)"
DECLINE_BUTTON = "Declined on the payment page (the Decline button)"
# Each test card and what paying with it gives: None pays, a text is the decline's reason.
TEST_CARDS: dict[str, str | None] = {TEST_CARD_PAYS: None, TEST_CARD_DECLINES: CARD_DECLINED}
CARD_NUMBER_DIGITS = range(12, 20)  # the lengths a card number (PAN) can have
HOSTED_SESSION = timedelta(minutes=30)  # a hosted checkout lasts 30 minutes at SumUp
MAX_REFERENCE = 90  # SumUp's maxLength for checkout_reference
# SumUp's OpenAPI gives the other fields no maximum; the sandbox keeps what it stores small.
MAX_DESCRIPTION = 1024
MAX_MERCHANT_CODE = 64
MAX_URL = 2048
# SumUp's OpenAPI gives the amount no maximum (`type: number, format: float`). The sandbox
# takes what the cart can ask, at most 2**31 - 1 minor units (Order.total_minor is a
# PostgreSQL integer: bp/cart/services/checkout.py MAX_TOTAL_MINOR), and nothing larger.
MAX_AMOUNT_MINOR = 2**31 - 1
MAX_CHECKOUTS = 10_000  # kept at once; see SandboxStore.create
MAX_ATTEMPTS = 20  # payment attempts (transactions) per checkout
MAX_WEBHOOK_RECORDS = 1000  # of SandboxStore.webhooks_sent, the latest kept


class BadCardNumber(ValueError):
    """What the shopper typed is not a card number the sandbox takes; the text says why."""


def spaced(card_number: str) -> str:
    """4242424242424242 as 4242 4242 4242 4242, as a card shows it."""
    return " ".join(card_number[i : i + 4] for i in range(0, len(card_number), 4))


def read_card_number(typed: str) -> str:
    """The digits of a typed card number (spaces and hyphens allowed), if it is one of
    TEST_CARDS; BadCardNumber otherwise."""
    digits = "".join(typed.split()).replace("-", "")
    if not digits:
        raise BadCardNumber("Enter a card number.")
    if not (digits.isascii() and digits.isdigit()):
        raise BadCardNumber("A card number has only digits (spaces are fine).")
    if len(digits) not in CARD_NUMBER_DIGITS:
        raise BadCardNumber(
            f"A card number has {CARD_NUMBER_DIGITS.start} to {CARD_NUMBER_DIGITS.stop - 1} "
            f"digits; this one has {len(digits)}."
        )
    if digits not in TEST_CARDS:
        raise BadCardNumber(
            "That is not one of the sandbox's test cards: "
            f"{spaced(TEST_CARD_PAYS)} pays, {spaced(TEST_CARD_DECLINES)} is declined."
        )
    return digits


@dataclass(frozen=True, slots=True)
class JsonNumber:
    """A number of a JSON body as written (also NaN, Infinity, -Infinity), never converted
    by the parser: `1E+300000` stays nine characters of text, never a number to compute
    with. read_amount decides what it is worth; anywhere else a string is wanted, it is not
    one (a str subclass would pass `isinstance(value, str)`)."""

    text: str


def read_json(data: bytes) -> Any:
    """A request body as JSON, its numbers as JsonNumber; ValueError when it is not JSON
    (nested too deeply included). None for an empty body."""
    if not data:
        return None
    try:
        return json.loads(
            data, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=JsonNumber
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None


AmountProblem = Literal["not_a_number", "not_positive", "too_fine", "too_large"]


class BadAmount(ValueError):
    def __init__(self, problem: AmountProblem) -> None:
        super().__init__(problem)
        self.problem: AmountProblem = problem


# A plain decimal number: no exponent, no NaN or Infinity, no leading "+".
_AMOUNT = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_WHOLE_DIGITS = len(str(MAX_AMOUNT_MINOR))  # more integer digits than this is too large


def read_amount(value: Any, currency: str) -> int:
    """An amount in major units (a JsonNumber from a body, or an int or Decimal from a
    caller in-process) as minor units, or BadAmount. Works on the written digits only, with
    integers of a bounded size: no exponent is ever evaluated, so any text answers at once."""
    if isinstance(value, JsonNumber):
        text = value.text
    elif isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise BadAmount("not_positive")
        if value > MAX_AMOUNT_MINOR:  # in major units: far too large, and never made text
            raise BadAmount("too_large")
        text = str(value)
    elif (
        isinstance(value, Decimal)
        and value.is_finite()
        and -_WHOLE_DIGITS <= int(value.as_tuple().exponent) <= _WHOLE_DIGITS
    ):
        text = format(value, "f")  # a bounded text: the exponent is small
    else:
        raise BadAmount("not_a_number")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise BadAmount("not_a_number")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    precision = get_currency_precision(currency)
    if len(fraction) > precision:
        raise BadAmount("too_fine")
    if len(whole) > _WHOLE_DIGITS:
        raise BadAmount("not_positive" if sign else "too_large")
    minor = int(whole) * 10**precision + int(fraction.ljust(precision, "0") or "0")
    if sign or minor == 0:
        raise BadAmount("not_positive")
    if minor > MAX_AMOUNT_MINOR:
        raise BadAmount("too_large")
    return minor


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL, lower-cased; None otherwise."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(url: str | None, own_origin: str | None) -> bool:
    """Whether `url` is a plainly written absolute URL on `own_origin` (the cart service's:
    same scheme, host and port, no user part). Strict on purpose: no control characters,
    spaces, backslashes or non-ASCII, which browsers and HTTP clients read differently."""
    if not url or not own_origin or len(url) > MAX_URL or not url.isascii():
        return False
    if "\\" in url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return False
    origin = origin_of(url)
    if origin is None or "@" in origin or origin != origin_of(own_origin):
        return False
    path = url[len(origin) :]
    return path == "" or path[0] in "/?#"


class SandboxRefusal(Exception):
    """An answer SumUp would give instead of the resource: status, body and content type."""

    def __init__(self, status: int, body: dict[str, Any], content_type: str) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.content_type = content_type


def _error(status: int, code: str, message: str, param: str | None = None) -> SandboxRefusal:
    body: dict[str, Any] = {"message": message, "error_code": code}
    if param:
        body["param"] = param
    return SandboxRefusal(status, body, "application/json")


def _problem(status: int, title: str, detail: str) -> SandboxRefusal:
    slug = title.lower().replace(" ", "-")
    body = {
        "type": f"https://developer.sumup.com/problem/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return SandboxRefusal(status, body, "application/problem+json")


NOT_FOUND = ("NOT_FOUND", "Resource not found")


def checkout_not_found() -> SandboxRefusal:
    return _error(404, *NOT_FOUND)


def invalid(param: str) -> SandboxRefusal:
    """SumUp's 400 for a field it cannot take."""
    return _error(400, "INVALID", "Validation error", param)


_REFUND_AMOUNT: dict[AmountProblem, str] = {
    "not_a_number": "amount must be a plain number in major units",
    "not_positive": "amount must be greater than zero",
    "too_fine": "amount has too many decimals",
}


@dataclass
class SandboxTransaction:
    id: str
    transaction_code: str
    amount: Decimal
    currency: str
    merchant_code: str
    status: str  # SUCCESSFUL, FAILED or REFUNDED
    timestamp: datetime
    refunded: Decimal = Decimal(0)
    decline_reason: str | None = None  # a FAILED one's, for the hosted page (not SumUp's API)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "transaction_code": self.transaction_code,
            "amount": self.amount,
            "currency": self.currency,
            "timestamp": self.timestamp.isoformat(),
            "status": self.status,
            "payment_type": "ECOM",
            "installments_count": 1,
            "merchant_code": self.merchant_code,
            "entry_mode": "CUSTOMER_ENTRY",
        }


@dataclass
class SandboxCheckout:
    id: str
    checkout_reference: str
    amount: Decimal
    currency: str
    merchant_code: str
    description: str | None
    return_url: str | None
    redirect_url: str | None
    hosted: bool
    created: datetime
    status: str = "PENDING"
    transactions: list[SandboxTransaction] = field(default_factory=list)

    @property
    def amount_minor(self) -> int:
        return major_to_minor(self.amount, self.currency)

    @property
    def decline_reason(self) -> str | None:
        """Why the last payment failed, while the checkout is FAILED."""
        if self.status != "FAILED" or not self.transactions:
            return None
        return self.transactions[-1].decline_reason

    @property
    def payable(self) -> bool:
        """Pending, or failed with attempts left (after a get(), which expires it in time)."""
        return self.status in ("PENDING", "FAILED") and len(self.transactions) < MAX_ATTEMPTS

    @property
    def successful(self) -> SandboxTransaction | None:
        return next((t for t in self.transactions if t.status != "FAILED"), None)

    def to_json(self, *, pay_url_base: str, detailed: bool) -> dict[str, Any]:
        """As SumUp's Checkout (create, deactivate) or CheckoutSuccess (get, list)."""
        data: dict[str, Any] = {
            "checkout_reference": self.checkout_reference,
            "amount": self.amount,
            "currency": self.currency,
            "merchant_code": self.merchant_code,
            "id": self.id,
            "status": self.status,
            "date": self.created.isoformat(),
            "valid_until": (self.created + HOSTED_SESSION).isoformat(),
            "transactions": [t.to_json() for t in self.transactions],
        }
        if self.description is not None:
            data["description"] = self.description
        if self.return_url is not None:
            data["return_url"] = self.return_url
        if self.hosted:
            data["hosted_checkout_url"] = f"{pay_url_base}/pay/{self.id}"
        if detailed:
            data["merchant_name"] = "Co-op sandbox merchant"
            if self.redirect_url is not None:
                data["redirect_url"] = self.redirect_url
            if self.successful is not None:
                data["transaction_id"] = self.successful.id
                data["transaction_code"] = self.successful.transaction_code
        return data


# --- SumUp's rules, on one checkout ---------------------------------------------------
# Shared by both stores: SandboxStore below (one process's memory) and
# DatabaseSandboxStore (sumup/sandbox_db.py: every process of a development deployment).
# Each takes the checkout as read and changes it in place; the store keeps the result.


def new_checkout(body: Any, *, own_origin: str | None, now: datetime) -> SandboxCheckout:
    """The checkout a create body asks for, or the SandboxRefusal SumUp would answer.
    Whether its reference is taken is the store's to say (duplicated_checkout)."""
    if not isinstance(body, dict):
        raise _error(400, "INVALID", "Validation error", "body")
    for name in ("checkout_reference", "amount", "currency", "merchant_code"):
        if body.get(name) in (None, ""):
            raise _error(400, "MISSING", "Validation error", name)
    reference, merchant_code = body["checkout_reference"], body["merchant_code"]
    if not isinstance(reference, str) or len(reference) > MAX_REFERENCE:
        raise _error(400, "INVALID", "Validation error", "checkout_reference")
    if not isinstance(merchant_code, str) or len(merchant_code) > MAX_MERCHANT_CODE:
        raise _error(400, "INVALID", "Validation error", "merchant_code")
    currency = body["currency"]
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise _error(400, "INVALID", "Validation error", "currency")
    amount = _amount(body["amount"], currency)
    for name, longest in (
        ("description", MAX_DESCRIPTION),
        ("return_url", MAX_URL),
        ("redirect_url", MAX_URL),
    ):
        value = body.get(name)
        if value is not None and not (isinstance(value, str) and len(value) <= longest):
            raise _error(400, "INVALID", "Validation error", name)
    # The webhook and the shopper go only to the cart service itself: a URL anywhere
    # else is refused, and nothing is stored.
    for name in ("return_url", "redirect_url"):
        if body.get(name) and not same_origin(body[name], own_origin):
            raise _error(400, "INVALID", "Validation error", name)
    hosted = body.get("hosted_checkout")
    if hosted is not None and not (
        isinstance(hosted, dict) and isinstance(hosted.get("enabled"), bool)
    ):
        raise _error(400, "INVALID", "Validation error", "hosted_checkout.enabled")
    return SandboxCheckout(
        id=str(uuid.uuid4()),
        checkout_reference=reference,
        amount=amount,
        currency=currency,
        merchant_code=merchant_code,
        description=body.get("description"),
        return_url=body.get("return_url") or None,
        redirect_url=body.get("redirect_url") or None,
        hosted=bool(hosted and hosted["enabled"]),
        created=now,
    )


def duplicated_checkout() -> SandboxRefusal:
    return _error(
        409,
        "DUPLICATED_CHECKOUT",
        "Checkout with this checkout reference and pay to email already exists",
    )


def _amount(value: Any, currency: str) -> Decimal:
    """SumUp's rules as the sandbox keeps them: a plain positive number in major units,
    no finer than the currency's minor unit, at most MAX_AMOUNT_MINOR."""
    try:
        return minor_to_major(read_amount(value, currency), currency)
    except BadAmount:
        raise _error(400, "INVALID", "Validation error", "amount") from None


def session_over(checkout: SandboxCheckout, now: datetime) -> bool:
    """Past the 30 minutes a hosted checkout lives."""
    return now > checkout.created + HOSTED_SESSION


def finished(checkout: SandboxCheckout, now: datetime) -> bool:
    """Paid or expired (or past its 30 minutes): nobody pays it any more."""
    return checkout.status in ("PAID", "EXPIRED") or session_over(checkout, now)


def refresh(checkout: SandboxCheckout, now: datetime) -> SandboxCheckout:
    """As SumUp shows it now: a pending or failed checkout past its 30 minutes is EXPIRED."""
    if checkout.status in ("PENDING", "FAILED") and session_over(checkout, now):
        checkout.status = "EXPIRED"
    return checkout


def deactivate_checkout(checkout: SandboxCheckout) -> None:
    if checkout.status == "PAID":
        raise _error(409, "CHECKOUT_PROCESSED", "Checkout is already processed")
    checkout.status = "EXPIRED"


def pay_checkout(
    checkout: SandboxCheckout, *, succeed: bool, decline_reason: str, now: datetime
) -> bool:
    """One payment attempt on the hosted page; whether one was made. A paid or expired
    checkout cannot be paid again; a failed one can, up to MAX_ATTEMPTS attempts in all.
    The amount never decides the outcome."""
    if not checkout.payable:
        return False
    checkout.transactions.append(
        SandboxTransaction(
            id=str(uuid.uuid4()),
            transaction_code="T" + uuid.uuid4().hex[:9].upper(),
            amount=checkout.amount,
            currency=checkout.currency,
            merchant_code=checkout.merchant_code,
            status="SUCCESSFUL" if succeed else "FAILED",
            timestamp=now,
            decline_reason=None if succeed else decline_reason,
        )
    )
    checkout.status = "PAID" if succeed else "FAILED"
    return True


def expire_checkout(checkout: SandboxCheckout) -> None:
    """What SumUp does when the 30 minutes are over (a paid checkout stays paid)."""
    if checkout.status != "PAID":
        checkout.status = "EXPIRED"


def refundable(checkout: SandboxCheckout, transaction_id: str) -> SandboxTransaction | None:
    """The checkout's transaction of that id, unless it failed (nothing to refund)."""
    return next(
        (t for t in checkout.transactions if t.id == transaction_id and t.status != "FAILED"),
        None,
    )


def transaction_not_found() -> SandboxRefusal:
    return _problem(404, "Not Found", "Transaction not found")


def refund_transaction(transaction: SandboxTransaction, body: Any) -> None:
    """A refund of `body["amount"]` (all that is left without one), or SumUp's refusal."""
    if body is not None and not isinstance(body, dict):
        raise _problem(400, "Bad Request", "the body must be an object")
    remaining = transaction.amount - transaction.refunded
    if transaction.status == "REFUNDED" or remaining <= 0:
        raise _problem(409, "Conflict", "The transaction is not refundable in its current state")
    amount: Decimal | None
    if not body or body.get("amount") is None:
        amount = remaining
    else:
        try:
            amount = minor_to_major(
                read_amount(body["amount"], transaction.currency), transaction.currency
            )
        except BadAmount as bad:
            if bad.problem != "too_large":
                raise _problem(400, "Bad Request", _REFUND_AMOUNT[bad.problem]) from None
            amount = None  # above any amount a transaction can have
    if amount is None or amount > remaining:
        raise _problem(422, "Unprocessable Entity", "Amount exceeds the refundable amount")
    transaction.refunded += amount
    if transaction.refunded == transaction.amount:
        transaction.status = "REFUNDED"


# --- The store of one process ---------------------------------------------------------


class SandboxStore:
    """The checkouts in this process's memory (SUMUP_SANDBOX_STORE=memory): what the
    in-process tests use, a fresh store per app, which they read and steer directly
    (pay, get, now, max_checkouts). Every method is synchronous: no await between
    reading and writing, so concurrent requests on the event loop cannot interleave."""

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        *,
        own_origin: str | None = None,
        max_checkouts: int = MAX_CHECKOUTS,
    ) -> None:
        self.now = now or (lambda: datetime.now(UTC))
        # The cart service's origin: the only one return_url and redirect_url may name
        # (none at all when it is not known).
        self.own_origin = own_origin
        self.max_checkouts = max_checkouts
        self._checkouts: dict[str, SandboxCheckout] = {}
        self._references: dict[tuple[str, str], str] = {}
        # Tests turn webhooks off to play a late (or lost) one themselves.
        self.send_webhooks = True
        self.webhooks_sent: list[tuple[str, str]] = []  # (checkout id, outcome), the latest

    def record_webhook(self, checkout_id: str, outcome: str) -> None:
        self.webhooks_sent.append((checkout_id, outcome))
        del self.webhooks_sent[:-MAX_WEBHOOK_RECORDS]

    def create(self, body: Any) -> SandboxCheckout:
        checkout = new_checkout(body, own_origin=self.own_origin, now=self.now())
        if (checkout.merchant_code, checkout.checkout_reference) in self._references:
            raise duplicated_checkout()
        while len(self._checkouts) >= max(self.max_checkouts, 1):
            self._evict_one()
        self._checkouts[checkout.id] = checkout
        self._references[(checkout.merchant_code, checkout.checkout_reference)] = checkout.id
        return checkout

    def __len__(self) -> int:
        return len(self._checkouts)

    def _evict_one(self) -> None:
        """Room for one more: the oldest finished checkout goes; the oldest of all when
        every one kept is still payable (only a flood of creates does that)."""
        now = self.now()
        victim = next((c for c in self._checkouts.values() if finished(c, now)), None)
        if victim is None:
            victim = next(iter(self._checkouts.values()))
            log.warning(
                "sandbox store full (%d checkouts): checkout %s dropped while payable",
                len(self._checkouts),
                victim.id,
            )
        del self._checkouts[victim.id]
        self._references.pop((victim.merchant_code, victim.checkout_reference), None)

    def get(self, checkout_id: str) -> SandboxCheckout:
        checkout = self._checkouts.get(checkout_id)
        if checkout is None:
            raise checkout_not_found()
        return refresh(checkout, self.now())

    def find(self, reference: str | None) -> list[SandboxCheckout]:
        return [
            self.get(c.id)
            for c in self._checkouts.values()
            if reference is None or c.checkout_reference == reference
        ]

    def deactivate(self, checkout_id: str) -> SandboxCheckout:
        checkout = self.get(checkout_id)
        deactivate_checkout(checkout)
        return checkout

    def pay(
        self, checkout_id: str, *, succeed: bool, decline_reason: str = DECLINE_BUTTON
    ) -> SandboxCheckout:
        """The shopper's Pay (or Decline) on the hosted page; `decline_reason` says why a
        failure failed (pay_checkout says when a checkout can be paid)."""
        checkout = self.get(checkout_id)
        pay_checkout(checkout, succeed=succeed, decline_reason=decline_reason, now=self.now())
        return checkout

    def expire(self, checkout_id: str) -> SandboxCheckout:
        """The test and operator hook: what SumUp does when the 30 minutes are over."""
        checkout = self.get(checkout_id)
        expire_checkout(checkout)
        return checkout

    def refund(self, merchant_code: str, transaction_id: str, body: Any) -> None:
        transaction = next(
            (
                found
                for c in self._checkouts.values()
                if c.merchant_code == merchant_code
                and (found := refundable(c, transaction_id)) is not None
            ),
            None,
        )
        if transaction is None:
            raise transaction_not_found()
        refund_transaction(transaction, body)
