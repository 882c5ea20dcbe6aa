"""The client against the app's own SumUp sandbox (ASGI, no network); every request and
every answer is checked against SumUp's published schemas by the `spec` transport."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest

from shared.config import SANDBOX_PATH, Settings
from sumup.client import SumUpCheckout, SumUpClient
from sumup.credentials import SANDBOX_API_KEY
from sumup.errors import (
    CheckoutProcessed,
    SumUpAuthError,
    SumUpError,
    SumUpNotFound,
    SumUpRefundError,
    SumUpUnavailable,
)
from sumup.factory import make_sumup_client
from sumup.sandbox_store import SandboxStore
from tests.sumup.spec_transport import SpecCheckingTransport

MERCHANT = "MSANDBOX1"


async def create(
    sumup: SumUpClient, reference: str = "coop-ref-1", **changes: object
) -> SumUpCheckout:
    args: dict[str, object] = {
        "checkout_reference": reference,
        "amount_minor": 1250,
        "currency": "GBP",
        "merchant_code": MERCHANT,
        "description": "Order 7KQ4-MZ2P",
        "return_url": "http://127.0.0.1:8002/checkout/webhook",
        "redirect_url": "http://127.0.0.1:8002/checkout/return/abc",
    }
    args.update(changes)
    return await sumup.create_hosted_checkout(**args)  # type: ignore[arg-type]


async def test_create_then_get_and_find_give_the_same_checkout(
    sumup: SumUpClient, spec: SpecCheckingTransport, settings: Settings
) -> None:
    created = await create(sumup, amount_minor=123456789)

    assert created.status == "PENDING"
    assert created.amount_minor == 123456789 and created.currency == "GBP"
    cart = settings.app_urls["cart"]
    assert created.hosted_checkout_url == f"{cart}{SANDBOX_PATH}/pay/{created.id}"
    assert await sumup.get_checkout(created.id) == created
    assert await sumup.find_checkout_by_reference("coop-ref-1") == created
    assert await sumup.find_checkout_by_reference("coop-ref-2") is None
    # The sandbox writes amounts as SumUp does: exact numbers in major units.
    first = spec.exchanges[0]
    assert (first.method, first.path, first.status) == ("POST", "/v0.1/checkouts", 201)
    assert '"amount":1234567.89' in first.request_text
    assert [e.status for e in spec.exchanges] == [201, 200, 200, 200]


async def test_same_reference_twice_returns_the_first_checkout(
    sumup: SumUpClient, spec: SpecCheckingTransport
) -> None:
    first = await create(sumup)
    again = await create(sumup)

    assert again == first
    assert [(e.method, e.status) for e in spec.exchanges] == [
        ("POST", 201),
        ("POST", 409),
        ("GET", 200),
    ]
    assert spec.exchanges[1].response_body["error_code"] == "DUPLICATED_CHECKOUT"
    assert len(await sumup_list(sumup)) == 1


async def sumup_list(sumup: SumUpClient) -> list[object]:
    # Every checkout this key can see (the list without a reference filter).
    response = await sumup._http.get(  # noqa: SLF001
        f"{sumup._base_url}/v0.1/checkouts",  # noqa: SLF001
        headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"},
    )
    return response.json()


async def test_same_reference_on_two_merchants_are_two_checkouts(sumup: SumUpClient) -> None:
    one = await create(sumup, merchant_code="MPAGE0001")
    two = await create(sumup, merchant_code="MPAGE0002")
    assert one.id != two.id


async def test_two_creates_at_once_with_one_reference_give_one_checkout(
    sumup: SumUpClient,
) -> None:
    results = await asyncio.gather(*(create(sumup) for _ in range(5)))
    assert len({checkout.id for checkout in results}) == 1
    assert len(await sumup_list(sumup)) == 1


async def test_lost_create_answer_is_found_by_the_retry(
    app, spec: SpecCheckingTransport, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    class LoseFirstAnswer(httpx.AsyncBaseTransport):
        """The create reaches SumUp, its answer never comes back (a read timeout)."""

        lost = False

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await spec.handle_async_request(request)
            if request.method == "POST" and not self.lost:
                self.lost = True
                raise httpx.ReadTimeout("answer lost", request=request)
            return response

    async with httpx.AsyncClient(transport=LoseFirstAnswer()) as http:
        sumup = make_sumup_client(http, settings)
        with pytest.raises(SumUpUnavailable):
            await create(sumup)  # not retried: it may have (and here has) reached SumUp
        checkout = await create(sumup)

    assert checkout.status == "PENDING"
    assert [(e.method, e.status) for e in spec.exchanges] == [
        ("POST", 201),
        ("POST", 409),
        ("GET", 200),
    ]
    assert checkout.id == spec.exchanges[0].response_body["id"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", SANDBOX_API_KEY])
async def test_without_the_key_the_sandbox_answers_401(
    spec: SpecCheckingTransport, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(transport=spec, base_url="http://cart") as http:
        response = await http.get(f"{SANDBOX_PATH}/v0.1/checkouts/whatever", headers=headers)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


async def test_client_with_a_wrong_key_gets_an_auth_error(
    spec: SpecCheckingTransport, settings: Settings
) -> None:
    async with httpx.AsyncClient(transport=spec) as http:
        sumup = SumUpClient(
            http, base_url=f"{settings.app_urls['cart']}{SANDBOX_PATH}", api_key="x", timeout=5
        )
        with pytest.raises(SumUpAuthError):
            await create(sumup)


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"merchant_code": None}, "merchant_code", "MISSING"),
        ({"checkout_reference": ""}, "checkout_reference", "MISSING"),
        ({"checkout_reference": "r" * 91}, "checkout_reference", "INVALID"),
        ({"amount": "12.50"}, "amount", "INVALID"),
        ({"amount": 12.505}, "amount", "INVALID"),
        ({"amount": 0}, "amount", "INVALID"),
        ({"amount": True}, "amount", "INVALID"),
        ({"currency": "XXX"}, "currency", "INVALID"),
        ({"return_url": "javascript:alert(1)"}, "return_url", "INVALID"),
        ({"hosted_checkout": {"enabled": "yes"}}, "hosted_checkout.enabled", "INVALID"),
    ],
)
async def test_create_validates_like_sumup(
    spec: SpecCheckingTransport, store: SandboxStore, change: dict, param: str, code: str
) -> None:
    body = {
        "checkout_reference": "coop-ref-1",
        "amount": 12.5,
        "currency": "GBP",
        "merchant_code": MERCHANT,
        "hosted_checkout": {"enabled": True},
    }
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}
    spec.check_requests = False  # these requests are wrong on purpose; the answers are checked
    async with httpx.AsyncClient(transport=spec, base_url="http://cart") as http:
        response = await http.post(
            f"{SANDBOX_PATH}/v0.1/checkouts",
            content=json.dumps(body),
            headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"},
        )
    assert response.status_code == 400
    assert response.json() == {"message": "Validation error", "error_code": code, "param": param}
    assert store.find(None) == []


async def test_garbage_body_is_a_400(spec: SpecCheckingTransport) -> None:
    spec.check_requests = False
    async with httpx.AsyncClient(transport=spec, base_url="http://cart") as http:
        response = await http.post(
            f"{SANDBOX_PATH}/v0.1/checkouts",
            content=b"{not json",
            headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"},
        )
    assert response.status_code == 400
    assert response.json()["param"] == "body"


async def test_get_unknown_checkout_is_not_found(sumup: SumUpClient) -> None:
    with pytest.raises(SumUpNotFound):
        await sumup.get_checkout("no-such-checkout")
    with pytest.raises(SumUpNotFound):
        await sumup.deactivate_checkout("no-such-checkout")


async def test_deactivate_pending_expires_it_paid_cannot_be(
    sumup: SumUpClient, store: SandboxStore
) -> None:
    pending = await create(sumup, "coop-ref-a")
    paid = await create(sumup, "coop-ref-b")
    store.pay(paid.id, succeed=True)

    assert (await sumup.deactivate_checkout(pending.id)).status == "EXPIRED"
    assert (await sumup.get_checkout(pending.id)).status == "EXPIRED"
    with pytest.raises(CheckoutProcessed):
        await sumup.deactivate_checkout(paid.id)
    assert (await sumup.get_checkout(paid.id)).status == "PAID"


async def test_paid_checkout_carries_its_transaction(
    sumup: SumUpClient, store: SandboxStore
) -> None:
    checkout = await create(sumup)
    store.pay(checkout.id, succeed=False)
    store.pay(checkout.id, succeed=True)

    paid = await sumup.get_checkout(checkout.id)
    transaction = store.get(checkout.id).transactions[1]
    assert paid.status == "PAID"
    assert (paid.transaction_id, paid.transaction_code) == (
        transaction.id,
        transaction.transaction_code,
    )
    found = await sumup.find_checkout_by_reference("coop-ref-1")
    assert found == paid


async def test_checkout_expires_after_thirty_minutes(
    sumup: SumUpClient, store: SandboxStore
) -> None:
    checkout = await create(sumup)
    started = store.now()
    store.now = lambda: started + timedelta(minutes=31)
    assert (await sumup.get_checkout(checkout.id)).status == "EXPIRED"
    store.pay(checkout.id, succeed=True)
    assert (await sumup.get_checkout(checkout.id)).status == "EXPIRED"


async def paid_transaction(
    sumup: SumUpClient, store: SandboxStore, amount_minor: int = 1250
) -> str:
    checkout = await create(sumup, amount_minor=amount_minor)
    store.pay(checkout.id, succeed=True)
    transaction_id = (await sumup.get_checkout(checkout.id)).transaction_id
    assert transaction_id
    return transaction_id


async def test_partial_refunds_up_to_the_amount_then_refused(
    sumup: SumUpClient, store: SandboxStore, spec: SpecCheckingTransport
) -> None:
    transaction_id = await paid_transaction(sumup, store)
    refund = {"merchant_code": MERCHANT, "transaction_id": transaction_id, "currency": "GBP"}

    await sumup.refund_transaction(amount_minor=500, **refund)
    with pytest.raises(SumUpRefundError) as too_much:
        await sumup.refund_transaction(amount_minor=751, **refund)
    await sumup.refund_transaction(amount_minor=750, **refund)
    with pytest.raises(SumUpRefundError) as again:
        await sumup.refund_transaction(amount_minor=None, **refund)

    assert (too_much.value.status, too_much.value.message) == (
        422,
        "Amount exceeds the refundable amount",
    )
    assert again.value.status == 409
    assert spec.exchanges[-1].response_body["detail"] == (
        "The transaction is not refundable in its current state"
    )
    assert store.find(None)[0].transactions[0].status == "REFUNDED"


async def test_full_refund_without_an_amount(sumup: SumUpClient, store: SandboxStore) -> None:
    transaction_id = await paid_transaction(sumup, store)
    await sumup.refund_transaction(
        merchant_code=MERCHANT, transaction_id=transaction_id, amount_minor=None, currency="GBP"
    )
    assert store.find(None)[0].transactions[0].refunded == store.find(None)[0].amount


@pytest.mark.parametrize(
    ("merchant", "transaction", "amount_minor", "status"),
    [
        (MERCHANT, "no-such-transaction", None, 404),
        ("MOTHER0001", None, None, 404),  # another merchant's transaction
        (MERCHANT, None, 0, 400),
    ],
)
async def test_refund_refusals(
    sumup: SumUpClient,
    store: SandboxStore,
    merchant: str,
    transaction: str | None,
    amount_minor: int | None,
    status: int,
) -> None:
    transaction_id = transaction or await paid_transaction(sumup, store)
    with pytest.raises(SumUpRefundError) as refused:
        await sumup.refund_transaction(
            merchant_code=merchant,
            transaction_id=transaction_id,
            amount_minor=amount_minor,
            currency="GBP",
        )
    assert refused.value.status == status
    assert store.find(None) == [] or store.find(None)[0].transactions[0].refunded == 0


async def test_errors_are_sumup_errors_with_codes(
    sumup: SumUpClient, spec: SpecCheckingTransport
) -> None:
    spec.check_requests = False  # a currency SumUp does not take, on purpose
    with pytest.raises(SumUpError) as raised:
        await create(sumup, currency="XXX")
    assert (raised.value.code, raised.value.status) == ("INVALID", 400)
    assert "currency" in str(raised.value)
