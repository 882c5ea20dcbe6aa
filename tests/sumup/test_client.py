"""The SumUp client against scripted answers shaped like SumUp's documented examples.

Every request and scripted answer passes through SpecCheckingTransport, so the fakes here
cannot drift from SumUp's schemas either. The same client against the sandbox is in
test_sandbox_api.py.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from sumup.client import SumUpCheckout, SumUpClient, dumps_exact
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
from tests.sumup.spec_transport import SpecCheckingTransport

API_KEY = "sup_sk_k3yTHATmustNEVERleak"
BASE = "https://api.sumup.test"
CHECKOUT_ID = "64553e20-3f0e-49e4-8af3-fd0eca86ce91"
PROBLEM = "application/problem+json"


def checkout_json(**changes: object) -> dict[str, object]:
    """SumUp's documented hosted-checkout answer (openapi.json, CreateCheckout 201)."""
    data: dict[str, object] = {
        "checkout_reference": "coop-abc-1",
        "amount": 12.3,
        "currency": "EUR",
        "merchant_code": "MCXXXXXX",
        "description": "Order 7KQ4-MZ2P",
        "id": CHECKOUT_ID,
        "status": "PENDING",
        "date": "2000-01-01T12:49:24.899+00:00",
        "hosted_checkout_url": f"https://checkout.sumup.com/pay/{CHECKOUT_ID}",
        "transactions": [],
    }
    data.update(changes)
    return data


Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler) -> tuple[SumUpClient, SpecCheckingTransport]:
    transport = SpecCheckingTransport(httpx.MockTransport(handler))
    http = httpx.AsyncClient(transport=transport)
    return SumUpClient(http, base_url=BASE, api_key=API_KEY, timeout=5), transport


async def create(client: SumUpClient, **changes: object) -> SumUpCheckout:
    args: dict[str, object] = {
        "checkout_reference": "coop-abc-1",
        "amount_minor": 1230,
        "currency": "EUR",
        "merchant_code": "MCXXXXXX",
        "description": "Order 7KQ4-MZ2P",
        "return_url": "https://cart.coop.test/checkout/webhook",
        "redirect_url": "https://cart.coop.test/checkout/return/abc",
    }
    args.update(changes)
    return await client.create_hosted_checkout(**args)  # type: ignore[arg-type]


async def test_create_sends_exact_major_units_and_bearer_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=checkout_json())

    client, transport = make_client(handler)
    checkout = await create(client)

    [exchange] = transport.exchanges
    assert (exchange.method, exchange.path) == ("POST", "/v0.1/checkouts")
    assert exchange.request_headers["authorization"] == f"Bearer {API_KEY}"
    # 1230 cents is written as 12.30 exactly: digits from the Decimal, never a float.
    assert '"amount":12.30' in exchange.request_text
    sent = json.loads(exchange.request_text)
    assert sent["hosted_checkout"] == {"enabled": True}
    assert sent["return_url"] == "https://cart.coop.test/checkout/webhook"
    assert sent["redirect_url"] == "https://cart.coop.test/checkout/return/abc"
    assert checkout == SumUpCheckout(
        id=CHECKOUT_ID,
        checkout_reference="coop-abc-1",
        amount_minor=1230,
        currency="EUR",
        merchant_code="MCXXXXXX",
        status="PENDING",
        hosted_checkout_url=f"https://checkout.sumup.com/pay/{CHECKOUT_ID}",
        transaction_id=None,
        transaction_code=None,
    )


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1, "GBP", "0.01"),
        (1000, "EUR", "10.00"),
        (123456789, "EUR", "1234567.89"),
        (500, "CLP", "500"),
    ],
)
def test_amounts_are_written_exactly(minor: int, currency: str, text: str) -> None:
    from shared.money import minor_to_major

    assert dumps_exact({"amount": minor_to_major(minor, currency)}) == f'{{"amount":{text}}}'


async def test_answers_are_read_as_exact_decimals() -> None:
    # 0.1 + 0.2 style amounts must not round through a float: 1234567.89 is 123456789 cents.
    def handler(request: httpx.Request) -> httpx.Response:
        text = json.dumps(checkout_json()).replace('"amount": 12.3', '"amount": 1234567.89')
        return httpx.Response(201, content=text, headers={"content-type": "application/json"})

    client, _ = make_client(handler)
    checkout = await create(client, amount_minor=123456789)
    assert checkout.amount_minor == 123456789


async def test_paid_checkout_gives_the_successful_transaction() -> None:
    transactions = [
        {"id": "tx-failed", "transaction_code": "TFAILED", "status": "FAILED", "amount": 12.3},
        {"id": "tx-ok", "transaction_code": "TEENSK4W2K", "status": "SUCCESSFUL", "amount": 12.3},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/v0.1/checkouts/{CHECKOUT_ID}"
        return httpx.Response(200, json=checkout_json(status="PAID", transactions=transactions))

    client, _ = make_client(handler)
    checkout = await client.get_checkout(CHECKOUT_ID)
    assert (checkout.status, checkout.transaction_id, checkout.transaction_code) == (
        "PAID",
        "tx-ok",
        "TEENSK4W2K",
    )


async def test_duplicated_reference_returns_the_checkout_made_first() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        if request.method == "POST":
            return httpx.Response(
                409,
                json={
                    "error_code": "DUPLICATED_CHECKOUT",
                    "message": "Checkout with this reference already exists",
                },
            )
        other = checkout_json(id="other", checkout_reference="coop-abc-10")
        return httpx.Response(200, json=[other, checkout_json()])

    client, _ = make_client(handler)
    checkout = await create(client)
    assert checkout.id == CHECKOUT_ID
    assert calls == ["POST /v0.1/checkouts?", "GET /v0.1/checkouts?checkout_reference=coop-abc-1"]


async def test_duplicated_reference_of_another_amount_is_not_taken() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(409, json={"error_code": "DUPLICATED_CHECKOUT", "message": "x"})
        return httpx.Response(200, json=[checkout_json(amount=99)])

    client, _ = make_client(handler)
    with pytest.raises(DuplicatedCheckout, match="another amount"):
        await create(client)


async def test_connection_error_is_retried_once() -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(201, json=checkout_json())

    client, transport = make_client(handler)
    checkout = await create(client)
    assert checkout.id == CHECKOUT_ID
    assert attempts == 2
    assert len(transport.exchanges) == 1  # one answer, so one checkout at SumUp


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout])
async def test_second_connection_error_gives_unavailable(error: type[httpx.HTTPError]) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise error("down", request=request)  # type: ignore[call-arg]

    client, _ = make_client(handler)
    with pytest.raises(SumUpUnavailable):
        await client.get_checkout(CHECKOUT_ID)
    assert attempts == 2


@pytest.mark.parametrize(
    "failure",
    [
        lambda request: httpx.Response(500, json={"message": "oops", "error_code": "INTERNAL"}),
        lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=request)),
        lambda request: (_ for _ in ()).throw(httpx.RemoteProtocolError("cut", request=request)),
    ],
    ids=["500", "read-timeout", "connection-cut"],
)
async def test_no_retry_once_the_request_may_have_reached_sumup(failure: Handler) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return failure(request)

    # Not through the spec check: a 500 is not in SumUp's documented answers.
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = SumUpClient(http, base_url=BASE, api_key=API_KEY, timeout=5)
    with pytest.raises(SumUpUnavailable):
        await create(client)
    assert attempts == 1


def problem(status: int, title: str, detail: str, content_type: str = PROBLEM) -> httpx.Response:
    """An RFC 9457 problem; SumUp's gateway sends its 401s as application/json."""
    body = {"type": "https://developer.sumup.com/problem/x", "title": title, "status": status}
    return httpx.Response(
        status,
        content=json.dumps({**body, "detail": detail}),
        headers={"content-type": content_type},
    )


@pytest.mark.parametrize(
    ("method", "answer", "error", "code"),
    [
        (
            "get",
            problem(401, "Unauthorized", "Unauthorized.", "application/json"),
            SumUpAuthError,
            "Unauthorized",
        ),
        (
            "get",
            httpx.Response(404, json={"error_code": "NOT_FOUND", "message": "Resource not found"}),
            SumUpNotFound,
            "NOT_FOUND",
        ),
        (
            "deactivate",
            httpx.Response(404, json={"error_code": "NOT_FOUND", "message": "Resource not found"}),
            SumUpNotFound,
            "NOT_FOUND",
        ),
        (
            "deactivate",
            httpx.Response(
                409,
                json={
                    "error_code": "CHECKOUT_PROCESSED",
                    "message": "Checkout is already processed",
                },
            ),
            CheckoutProcessed,
            "CHECKOUT_PROCESSED",
        ),
    ],
)
async def test_errors_are_typed(
    method: str, answer: httpx.Response, error: type[SumUpError], code: str
) -> None:
    client, _ = make_client(lambda request: answer)
    call = client.get_checkout if method == "get" else client.deactivate_checkout
    with pytest.raises(error) as raised:
        await call(CHECKOUT_ID)
    assert raised.value.code == code
    assert raised.value.status == answer.status_code


async def test_create_refused_for_a_bad_field_names_the_field() -> None:
    answer = httpx.Response(
        400, json={"message": "Validation error", "error_code": "MISSING", "param": "merchant_code"}
    )
    client, _ = make_client(lambda request: answer)
    with pytest.raises(SumUpError) as raised:
        await create(client)
    assert type(raised.value) is SumUpError
    assert str(raised.value) == "SumUp MISSING (HTTP 400): Validation error (merchant_code)"


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
async def test_refund_refusals_carry_sumups_detail(status: int) -> None:
    client, _ = make_client(lambda request: problem(status, "Refused", "not refundable now"))
    with pytest.raises(SumUpRefundError) as raised:
        await client.refund_transaction(
            merchant_code="MCXXXXXX", transaction_id="tx-ok", amount_minor=500, currency="EUR"
        )
    assert (raised.value.status, raised.value.message) == (status, "not refundable now")


async def test_refund_partial_sends_the_amount_full_sends_no_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={})

    client, transport = make_client(handler)
    await client.refund_transaction(
        merchant_code="MCXXXXXX", transaction_id="tx-ok", amount_minor=500, currency="EUR"
    )
    await client.refund_transaction(
        merchant_code="MCXXXXXX", transaction_id="tx-ok", amount_minor=None, currency="EUR"
    )
    partial, full = transport.exchanges
    assert partial.path == "/v1.0/merchants/MCXXXXXX/payments/tx-ok/refunds"
    assert partial.request_text == '{"amount":5.00}'
    assert full.request_text == ""


async def test_ids_cannot_escape_their_path_segment() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(
            404, json={"error_code": "NOT_FOUND", "message": "Resource not found"}
        )

    client, _ = make_client(handler)
    with pytest.raises(SumUpNotFound):
        await client.get_checkout("../../v1.0/merchants/X")
    assert seen == [b"/v0.1/checkouts/..%2F..%2Fv1.0%2Fmerchants%2FX"]
    with pytest.raises(SumUpNotFound):
        await client.get_checkout("..")
    assert len(seen) == 1  # refused before sending


@pytest.mark.parametrize(
    "body",
    [
        "<html>gateway</html>",
        json.dumps(checkout_json(amount="12.30")),
        json.dumps(checkout_json(amount=12.345)),
        json.dumps(checkout_json(status="SOMETHING_NEW")),
        json.dumps({"checkout_reference": "coop-abc-1"}),
        json.dumps([checkout_json()]),
    ],
    ids=["not-json", "amount-string", "too-fine", "unknown-status", "no-id", "list"],
)
async def test_answers_of_another_shape_are_bad_responses(body: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = SumUpClient(http, base_url=BASE, api_key=API_KEY, timeout=5)
    with pytest.raises(SumUpBadResponse):
        await client.get_checkout(CHECKOUT_ID)


async def test_api_key_never_in_an_exception_a_repr_or_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = iter(
        [
            # Even an answer echoing the key must not carry it into our exception.
            httpx.Response(
                401, json={"message": f"bad key {API_KEY}", "error_code": "UNAUTHORIZED"}
            ),
            httpx.Response(500, json={"message": f"Bearer {API_KEY}"}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers, None)
        if answer is None:
            raise httpx.ConnectError(f"refused {request.headers['authorization']}", request=request)
        return answer

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = SumUpClient(http, base_url=BASE, api_key=API_KEY, timeout=5)
    raised: list[SumUpError] = []
    for _ in range(3):
        with pytest.raises(SumUpError) as info:
            await client.get_checkout(CHECKOUT_ID)
        raised.append(info.value)

    assert [type(e) for e in raised] == [SumUpAuthError, SumUpUnavailable, SumUpUnavailable]
    for error in raised:
        assert API_KEY not in str(error) and API_KEY not in repr(error)
        # Nor in the traceback an error page's log would print (httpx's error is not chained).
        assert API_KEY not in "".join(traceback.format_exception(error))
    assert API_KEY not in repr(client)
    assert caplog.records, "the client logs its calls"
    for record in caplog.records:
        assert API_KEY not in record.getMessage()


def test_exact_dumps_refuses_non_finite_amounts() -> None:
    with pytest.raises(ValueError):
        dumps_exact({"amount": Decimal("NaN")})


async def test_refund_answered_with_an_empty_200_is_done_a_checkout_is_not() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    client = SumUpClient(http, base_url=BASE, api_key=API_KEY, timeout=5)
    await client.refund_transaction(
        merchant_code="MCXXXXXX", transaction_id="tx-ok", amount_minor=None, currency="EUR"
    )
    with pytest.raises(SumUpBadResponse):
        await client.get_checkout(CHECKOUT_ID)
