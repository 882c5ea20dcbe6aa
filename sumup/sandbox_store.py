"""The sandbox's checkouts: what SumUp keeps, and SumUp's rules for changing it.

Kept in memory on the app (app.extensions), one store per process. That suits what the
sandbox is for: the embedded default (`make run`: one hypercorn worker) and the tests (a
fresh store per app, so tests cannot see each other's checkouts). It is never used in
production, where SumUp keeps this state. With several workers each would have its own
store, so the embedded default runs one. Every change is a synchronous method (no await
between reading and writing), so concurrent requests on the event loop cannot interleave
inside one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.money import major_to_minor

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


class SandboxStore:
    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now(UTC))
        self._checkouts: dict[str, SandboxCheckout] = {}
        self._references: dict[tuple[str, str], str] = {}
        # Tests turn webhooks off to play a late (or lost) one themselves.
        self.send_webhooks = True
        self.webhooks_sent: list[tuple[str, str]] = []  # (checkout id, outcome)

    def create(self, body: Any) -> SandboxCheckout:
        if not isinstance(body, dict):
            raise _error(400, "INVALID", "Validation error", "body")
        for name in ("checkout_reference", "amount", "currency", "merchant_code"):
            if body.get(name) in (None, ""):
                raise _error(400, "MISSING", "Validation error", name)
        reference, merchant_code = body["checkout_reference"], body["merchant_code"]
        if not isinstance(reference, str) or len(reference) > MAX_REFERENCE:
            raise _error(400, "INVALID", "Validation error", "checkout_reference")
        if not isinstance(merchant_code, str):
            raise _error(400, "INVALID", "Validation error", "merchant_code")
        currency = body["currency"]
        if currency not in CURRENCIES:
            raise _error(400, "INVALID", "Validation error", "currency")
        amount = self._amount(body["amount"], currency)
        for name in ("description", "return_url", "redirect_url"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise _error(400, "INVALID", "Validation error", name)
        for name in ("return_url", "redirect_url"):
            if body.get(name) and not body[name].startswith(("http://", "https://")):
                raise _error(400, "INVALID", "Validation error", name)
        hosted = body.get("hosted_checkout")
        if hosted is not None and not (
            isinstance(hosted, dict) and isinstance(hosted.get("enabled"), bool)
        ):
            raise _error(400, "INVALID", "Validation error", "hosted_checkout.enabled")
        if (merchant_code, reference) in self._references:
            raise _error(
                409,
                "DUPLICATED_CHECKOUT",
                "Checkout with this checkout reference and pay to email already exists",
            )
        checkout = SandboxCheckout(
            id=str(uuid.uuid4()),
            checkout_reference=reference,
            amount=amount,
            currency=currency,
            merchant_code=merchant_code,
            description=body.get("description"),
            return_url=body.get("return_url") or None,
            redirect_url=body.get("redirect_url") or None,
            hosted=bool(hosted and hosted["enabled"]),
            created=self.now(),
        )
        self._checkouts[checkout.id] = checkout
        self._references[(merchant_code, reference)] = checkout.id
        return checkout

    @staticmethod
    def _amount(value: Any, currency: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _error(400, "INVALID", "Validation error", "amount")
        try:
            major_to_minor(value, currency)  # no finer than the currency allows
        except ValueError:
            raise _error(400, "INVALID", "Validation error", "amount") from None
        if value <= 0:
            raise _error(400, "INVALID", "Validation error", "amount")
        return Decimal(value)

    def get(self, checkout_id: str) -> SandboxCheckout:
        checkout = self._checkouts.get(checkout_id)
        if checkout is None:
            raise _error(404, *NOT_FOUND)
        if checkout.status in ("PENDING", "FAILED") and self.now() > (
            checkout.created + HOSTED_SESSION
        ):
            checkout.status = "EXPIRED"
        return checkout

    def find(self, reference: str | None) -> list[SandboxCheckout]:
        return [
            self.get(c.id)
            for c in self._checkouts.values()
            if reference is None or c.checkout_reference == reference
        ]

    def deactivate(self, checkout_id: str) -> SandboxCheckout:
        checkout = self.get(checkout_id)
        if checkout.status == "PAID":
            raise _error(409, "CHECKOUT_PROCESSED", "Checkout is already processed")
        checkout.status = "EXPIRED"
        return checkout

    def pay(
        self, checkout_id: str, *, succeed: bool, decline_reason: str = DECLINE_BUTTON
    ) -> SandboxCheckout:
        """The shopper's Pay (or Decline) on the hosted page; `decline_reason` says why a
        failure failed. A paid or expired checkout cannot be paid again; a failed one can.
        The amount never decides the outcome."""
        checkout = self.get(checkout_id)
        if checkout.status not in ("PENDING", "FAILED"):
            return checkout
        checkout.transactions.append(
            SandboxTransaction(
                id=str(uuid.uuid4()),
                transaction_code="T" + uuid.uuid4().hex[:9].upper(),
                amount=checkout.amount,
                currency=checkout.currency,
                merchant_code=checkout.merchant_code,
                status="SUCCESSFUL" if succeed else "FAILED",
                timestamp=self.now(),
                decline_reason=None if succeed else decline_reason,
            )
        )
        checkout.status = "PAID" if succeed else "FAILED"
        return checkout

    def expire(self, checkout_id: str) -> SandboxCheckout:
        """The test and operator hook: what SumUp does when the 30 minutes are over."""
        checkout = self.get(checkout_id)
        if checkout.status != "PAID":
            checkout.status = "EXPIRED"
        return checkout

    def refund(self, merchant_code: str, transaction_id: str, body: Any) -> None:
        transaction = next(
            (
                t
                for c in self._checkouts.values()
                if c.merchant_code == merchant_code
                for t in c.transactions
                if t.id == transaction_id and t.status != "FAILED"
            ),
            None,
        )
        if transaction is None:
            raise _problem(404, "Not Found", "Transaction not found")
        if body is not None and not isinstance(body, dict):
            raise _problem(400, "Bad Request", "the body must be an object")
        remaining = transaction.amount - transaction.refunded
        if transaction.status == "REFUNDED" or remaining <= 0:
            raise _problem(
                409, "Conflict", "The transaction is not refundable in its current state"
            )
        amount = remaining if not body or body.get("amount") is None else body["amount"]
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal) or amount <= 0:
            raise _problem(400, "Bad Request", "amount must be greater than zero")
        try:
            major_to_minor(amount, transaction.currency)
        except ValueError:
            raise _problem(400, "Bad Request", "amount has too many decimals") from None
        if transaction.status == "REFUNDED" or remaining <= 0:
            raise _problem(
                409, "Conflict", "The transaction is not refundable in its current state"
            )
        if amount > remaining:
            raise _problem(422, "Unprocessable Entity", "Amount exceeds the refundable amount")
        transaction.refunded += Decimal(amount)
        if transaction.refunded == transaction.amount:
            transaction.status = "REFUNDED"
