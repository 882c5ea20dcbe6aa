"""SumUp's checkout API over the app's shared httpx client.

Amounts cross this boundary in major units as exact decimals (never floats): requests are
written with the Decimal's own digits and answers are parsed with `parse_float=Decimal`.
One retry, on connection failures only: then the request never reached SumUp, so even a
create is safe to repeat. A read timeout or a 5xx may have changed something at SumUp, so
it is reported (SumUpUnavailable) and the caller decides; a lost create is found again by
its checkout reference (the 409 path).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from shared.money import major_to_minor, minor_to_major
from sumup.errors import (
    CheckoutProcessed,
    DuplicatedCheckout,
    SumUpAuthError,
    SumUpBadResponse,
    SumUpError,
    SumUpNotFound,
    SumUpRefundError,
    SumUpUnavailable,
)

log = logging.getLogger(__name__)

CHECKOUT_STATUSES = frozenset({"PENDING", "PAID", "FAILED", "EXPIRED"})
# Never sent at all, so repeating is safe whatever the method.
_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class SumUpCheckout:
    id: str
    checkout_reference: str
    amount_minor: int
    currency: str
    merchant_code: str | None
    status: str  # PENDING, PAID, FAILED or EXPIRED
    hosted_checkout_url: str | None
    transaction_id: str | None  # of the successful transaction, once paid
    transaction_code: str | None


class SumUpClient:
    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, api_key: str, timeout: float
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout)

    def __repr__(self) -> str:  # the key stays out of reprs in tracebacks and logs
        return f"SumUpClient(base_url={self._base_url!r})"

    async def create_hosted_checkout(
        self,
        *,
        checkout_reference: str,
        amount_minor: int,
        currency: str,
        merchant_code: str,
        description: str,
        return_url: str,
        redirect_url: str,
    ) -> SumUpCheckout:
        body = {
            "checkout_reference": checkout_reference,
            "amount": minor_to_major(amount_minor, currency),
            "currency": currency,
            "merchant_code": merchant_code,
            "description": description,
            "return_url": return_url,
            "redirect_url": redirect_url,
            "hosted_checkout": {"enabled": True},
        }
        try:
            data = await self._call("POST", "/v0.1/checkouts", body=body)
        except DuplicatedCheckout as duplicated:
            # Our earlier create went through but its answer was lost: take that one,
            # provided it is the same payment (a reused reference must not change the sum).
            existing = await self.find_checkout_by_reference(
                checkout_reference, merchant_code=merchant_code
            )
            if existing is None:
                raise
            if (existing.amount_minor, existing.currency) != (amount_minor, currency):
                raise DuplicatedCheckout(
                    duplicated.code,
                    f"reference {checkout_reference} belongs to a checkout of another amount",
                    duplicated.status,
                ) from None
            return existing
        return _checkout(data)

    async def get_checkout(self, checkout_id: str) -> SumUpCheckout:
        return _checkout(await self._call("GET", f"/v0.1/checkouts/{_segment(checkout_id)}"))

    async def find_checkout_by_reference(
        self, reference: str, *, merchant_code: str | None = None
    ) -> SumUpCheckout | None:
        data = await self._call("GET", "/v0.1/checkouts", params={"checkout_reference": reference})
        if not isinstance(data, list):
            raise SumUpBadResponse("bad_response", "the checkout list is not a list")
        for item in data:
            checkout = _checkout(item)
            if checkout.checkout_reference == reference and (
                merchant_code is None or checkout.merchant_code in (None, merchant_code)
            ):
                return checkout
        return None

    async def deactivate_checkout(self, checkout_id: str) -> SumUpCheckout:
        return _checkout(await self._call("DELETE", f"/v0.1/checkouts/{_segment(checkout_id)}"))

    async def refund_transaction(
        self,
        *,
        merchant_code: str,
        transaction_id: str,
        amount_minor: int | None,
        currency: str,
    ) -> None:
        """A full refund when amount_minor is None, else a partial one of that amount."""
        path = (
            f"/v1.0/merchants/{_segment(merchant_code)}/payments/{_segment(transaction_id)}/refunds"
        )
        body = None if amount_minor is None else {"amount": minor_to_major(amount_minor, currency)}
        await self._call("POST", path, body=body, refund=True)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        refund: bool = False,
    ) -> Any:
        response = await self._send(method, path, body=body, params=params)
        log.info("SumUp %s %s -> %s", method, path, response.status_code)
        # SumUp documents 201 for creates and refunds, 200 otherwise; any 2xx is success,
        # so an undocumented 200 for a create is not mistaken for a failure.
        if not response.is_success:
            raise self._error(response, refund=refund)
        return self._json(response)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None,
        params: dict[str, str] | None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = dumps_exact(body)
        url = f"{self._base_url}{path}"
        for attempt in (1, 2):
            try:
                return await self._http.request(
                    method,
                    url,
                    params=params,
                    content=content,
                    headers=headers,
                    timeout=self._timeout,
                )
            except _RETRYABLE as exc:
                if attempt == 2:
                    raise SumUpUnavailable(
                        "connect_error", f"could not connect: {type(exc).__name__}"
                    ) from None
                log.warning("SumUp %s %s: could not connect, trying once more", method, path)
            except httpx.TimeoutException as exc:
                raise SumUpUnavailable(
                    "timeout", f"no answer in time: {type(exc).__name__}"
                ) from None
            except httpx.HTTPError as exc:
                raise SumUpUnavailable("network_error", type(exc).__name__) from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def _json(self, response: httpx.Response) -> Any:
        if not response.content:
            return None  # a refund's answer may be empty; a checkout's then fails its shape
        try:
            return json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise SumUpBadResponse(
                "bad_response", "the answer is not JSON", response.status_code
            ) from None

    def _error(self, response: httpx.Response, *, refund: bool) -> SumUpError:
        status = response.status_code
        try:
            data = json.loads(response.text) if response.text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        code = str(data.get("error_code") or data.get("title") or f"http_{status}")
        text = data.get("detail") or data.get("message") or data.get("error_message") or ""
        message = self._scrub(str(text) or response.reason_phrase or "error")
        if data.get("param"):
            message = f"{message} ({self._scrub(str(data['param']))})"
        if status >= 500 or status == 429:
            return SumUpUnavailable(code, message, status)
        if status == 401 or (status == 403 and not refund):
            return SumUpAuthError(code, message, status)
        if refund and status in (400, 403, 404, 409, 422):
            return SumUpRefundError(code, message, status)
        if status == 404:
            return SumUpNotFound(code, message, status)
        if status == 409 and code == "DUPLICATED_CHECKOUT":
            return DuplicatedCheckout(code, message, status)
        if status == 409 and code == "CHECKOUT_PROCESSED":
            return CheckoutProcessed(code, message, status)
        return SumUpError(code, message, status)

    def _scrub(self, text: str) -> str:
        # SumUp has no reason to echo the key back; if it ever did, it stops here.
        return text.replace(self._api_key, "***") if self._api_key else text


def dumps_exact(value: Any) -> str:
    """JSON with Decimals written as exact numbers (12.00, not 12.0 or "12.00")."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not an amount")
        return format(value, "f")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{dumps_exact(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_exact(v) for v in value) + "]"
    return json.dumps(value)


def _segment(value: str) -> str:
    """An id as exactly one path segment, so a stray '/' or '..' cannot reach another
    endpoint."""
    if not value or value in (".", ".."):
        raise SumUpNotFound("NOT_FOUND", "not a SumUp id")
    return quote(value, safe="")


def _checkout(data: Any) -> SumUpCheckout:
    if not isinstance(data, dict):
        raise SumUpBadResponse("bad_response", "a checkout is not an object")
    try:
        checkout_id = _text(data, "id")
        reference = _text(data, "checkout_reference")
        currency = _text(data, "currency")
        status = _text(data, "status")
        amount = data.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
            raise ValueError("amount is not a number")
        amount_minor = major_to_minor(amount, currency)
        if status not in CHECKOUT_STATUSES:
            raise ValueError(f"unknown status {status!r}")
    except ValueError as exc:
        raise SumUpBadResponse("bad_response", f"checkout: {exc}") from None
    transaction_id = _optional_text(data, "transaction_id")
    transaction_code = _optional_text(data, "transaction_code")
    if transaction_id is None:
        successful = [
            t
            for t in data.get("transactions") or []
            if isinstance(t, dict) and t.get("status") == "SUCCESSFUL"
        ]
        if successful:
            transaction_id = _optional_text(successful[-1], "id")
            transaction_code = _optional_text(successful[-1], "transaction_code")
    return SumUpCheckout(
        id=checkout_id,
        checkout_reference=reference,
        amount_minor=amount_minor,
        currency=currency,
        merchant_code=_optional_text(data, "merchant_code"),
        status=status,
        hosted_checkout_url=_optional_text(data, "hosted_checkout_url"),
        transaction_id=transaction_id,
        transaction_code=transaction_code,
    )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is missing")
    return value


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None
