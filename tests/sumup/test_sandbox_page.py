"""The sandbox's hosted payment page: what the shopper sees, what Pay and Decline change,
and the webhook SumUp would send."""

from __future__ import annotations

import json

import pytest

from shared.config import SANDBOX_PATH
from sumup.client import SumUpCheckout, SumUpClient
from sumup.credentials import SANDBOX_API_KEY
from sumup.sandbox_store import SandboxStore
from tests.sumup.conftest import CSRF, WebhookRecorder

RETURN_URL = "http://127.0.0.1:8002/checkout/webhook"
REDIRECT_URL = "http://127.0.0.1:8002/checkout/return/abc"


async def create(sumup: SumUpClient, amount_minor: int = 1250, **changes: object) -> SumUpCheckout:
    args: dict[str, object] = {
        "checkout_reference": "coop-ref-1",
        "amount_minor": amount_minor,
        "currency": "GBP",
        "merchant_code": "MSANDBOX1",
        "description": "Order 7KQ4-MZ2P",
        "return_url": RETURN_URL,
        "redirect_url": REDIRECT_URL,
    }
    args.update(changes)
    return await sumup.create_hosted_checkout(**args)  # type: ignore[arg-type]


def page_path(checkout: SumUpCheckout) -> str:
    assert checkout.hosted_checkout_url
    return checkout.hosted_checkout_url.removeprefix("http://127.0.0.1:8002")


async def test_page_shows_the_amount_and_both_buttons(shopper, sumup: SumUpClient) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    response = await shopper.get(page_path(checkout))
    html = await response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Pay £12.50" in html
    assert "Order 7KQ4-MZ2P" in html
    assert f'action="{SANDBOX_PATH}/pay/{checkout.id}/pay"' in html
    assert f'action="{SANDBOX_PATH}/pay/{checkout.id}/decline"' in html
    assert html.count(f'name="csrf_token" value="{CSRF}"') == 2


async def test_pay_marks_it_paid_sends_the_webhook_and_the_shopper_back(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, store: SandboxStore
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    response = await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})

    assert response.status_code == 303
    assert response.headers["Location"] == REDIRECT_URL
    paid = await sumup.get_checkout(checkout.id)
    assert paid.status == "PAID" and paid.transaction_id and paid.transaction_code
    # SumUp's webhook, exactly: the event type and the id, nothing to trust beyond that.
    [(url, body, content_type)] = webhooks.received
    assert url == RETURN_URL
    assert json.loads(body) == {"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout.id}
    assert content_type == "application/json"
    assert store.webhooks_sent == [(checkout.id, "204")]

    page = await (await shopper.get(page_path(checkout))).get_data(as_text=True)
    assert "This checkout is paid." in page and '/pay"' not in page


async def test_paying_twice_pays_once_and_sends_one_webhook(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, store: SandboxStore
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    for _ in range(2):
        await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    assert len(store.get(checkout.id).transactions) == 1
    assert len(webhooks.received) == 1


async def test_decline_then_pay_again(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    declined = await shopper.post(f"{page_path(checkout)}/decline", form={"csrf_token": CSRF})
    assert declined.headers["Location"] == REDIRECT_URL
    assert (await sumup.get_checkout(checkout.id)).status == "FAILED"
    page = await (await shopper.get(page_path(checkout))).get_data(as_text=True)
    assert "The last payment was declined. You can try again." in page

    await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    assert (await sumup.get_checkout(checkout.id)).status == "PAID"
    assert len(webhooks.received) == 2


DEFAULT_CARD = "4242 4242 4242 4242"
DECLINE_CARD = "4000 0000 0000 0002"


async def test_page_prefills_the_card_that_pays_and_names_the_one_declined(
    shopper, sumup: SumUpClient
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    html = await (await shopper.get(page_path(checkout))).get_data(as_text=True)
    assert f'name="card_number" value="{DEFAULT_CARD}"' in html
    assert f"<strong>{DECLINE_CARD}</strong> is declined by the card issuer" in html


# 11.00, 42.01, 42.76, 42.91: the amounts SumUp's own sandbox fails. Here the card decides,
# never the total: a demo cart reaches 11.00 with four cinnamon buns at 2.75.
@pytest.mark.parametrize("amount_minor", [1100, 4201, 4276, 4291, 1250])
async def test_the_default_card_pays_whatever_the_amount(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, amount_minor: int
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup, amount_minor=amount_minor)
    response = await shopper.post(
        f"{page_path(checkout)}/pay", form={"csrf_token": CSRF, "card_number": DEFAULT_CARD}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == REDIRECT_URL
    paid = await sumup.get_checkout(checkout.id)
    assert paid.status == "PAID" and paid.transaction_id and paid.transaction_code
    assert len(webhooks.received) == 1


async def test_the_decline_card_declines_with_its_reason_on_the_page(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, store: SandboxStore
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    response = await shopper.post(
        f"{page_path(checkout)}/pay",
        form={"csrf_token": CSRF, "card_number": DECLINE_CARD.replace(" ", "")},
    )
    # The shopper stays on the hosted page, told why, and may try another card.
    assert response.status_code == 303
    assert response.headers["Location"] == page_path(checkout)
    failed = await sumup.get_checkout(checkout.id)
    assert failed.status == "FAILED" and failed.transaction_id is None
    assert [t.status for t in store.get(checkout.id).transactions] == ["FAILED"]
    # SumUp's webhook, as for any other change.
    [(url, body, _)] = webhooks.received
    assert url == RETURN_URL
    assert json.loads(body) == {"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout.id}

    page = await (await shopper.get(page_path(checkout))).get_data(as_text=True)
    assert "The last payment was declined. You can try again." in page
    assert "Reason: Declined by the card issuer (test card)" in page
    assert f'href="{REDIRECT_URL}"' in page
    assert f'name="card_number" value="{DEFAULT_CARD}"' in page

    await shopper.post(
        f"{page_path(checkout)}/pay", form={"csrf_token": CSRF, "card_number": DEFAULT_CARD}
    )
    assert (await sumup.get_checkout(checkout.id)).status == "PAID"
    assert len(webhooks.received) == 2


async def test_the_decline_button_declines_with_its_reason(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup, amount_minor=1100)
    response = await shopper.post(f"{page_path(checkout)}/decline", form={"csrf_token": CSRF})
    assert response.headers["Location"] == REDIRECT_URL
    failed = await sumup.get_checkout(checkout.id)
    assert failed.status == "FAILED" and failed.transaction_id is None
    assert len(webhooks.received) == 1
    page = await (await shopper.get(page_path(checkout))).get_data(as_text=True)
    assert "Reason: Declined on the payment page (the Decline button)" in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a card number."),
        ("   ", "Enter a card number."),
        ("4242 4242 4242 424x", "A card number has only digits (spaces are fine)."),
        ("４２４２４２４２４２４２４２４２", "A card number has only digits (spaces are fine)."),
        ("4242 4242 424", "A card number has 12 to 19 digits; this one has 11."),
        ("4242" * 5, "A card number has 12 to 19 digits; this one has 20."),
        (
            "4111 1111 1111 1111",
            "That is not one of the sandbox&#39;s test cards: 4242 4242 4242 4242 pays, "
            "4000 0000 0000 0002 is declined.",
        ),
    ],
)
async def test_a_bad_card_number_reshows_the_page_and_changes_nothing(
    shopper,
    sumup: SumUpClient,
    webhooks: WebhookRecorder,
    store: SandboxStore,
    typed: str,
    message: str,
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    response = await shopper.post(
        f"{page_path(checkout)}/pay", form={"csrf_token": CSRF, "card_number": typed}
    )
    html = await response.get_data(as_text=True)

    assert response.status_code == 400
    assert f'role="alert">{message}</p>' in html
    assert 'aria-invalid="true"' in html
    assert "Pay £12.50" in html
    assert (await sumup.get_checkout(checkout.id)).status == "PENDING"
    assert store.get(checkout.id).transactions == []
    assert webhooks.received == []


async def test_a_bad_card_number_on_a_paid_checkout_changes_nothing(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, store: SandboxStore
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    response = await shopper.post(
        f"{page_path(checkout)}/pay", form={"csrf_token": CSRF, "card_number": "nonsense"}
    )
    assert response.status_code == 303
    assert len(store.get(checkout.id).transactions) == 1
    assert len(webhooks.received) == 1


async def test_a_paid_checkouts_page_says_paid_not_pay(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    await shopper.post(
        f"{page_path(checkout)}/pay", form={"csrf_token": CSRF, "card_number": DEFAULT_CARD}
    )
    response = await shopper.get(page_path(checkout))
    html = await response.get_data(as_text=True)

    assert response.status_code == 200
    assert '<h1 id="pay-title">Paid £12.50</h1>' in html
    assert "<title>Paid · SumUp sandbox" in html
    assert "Pay £" not in html and "Pay ·" not in html
    assert 'name="card_number"' not in html and "<form" not in html.split("</header>")[-1]
    assert "This checkout is paid." in html
    assert f'<a href="{REDIRECT_URL}">Back to the shop</a>' in html


async def test_pay_without_the_form_token_changes_nothing(
    client, sumup: SumUpClient, webhooks: WebhookRecorder
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    response = await client.post(f"{page_path(checkout)}/pay", form={"csrf_token": "forged"})
    assert response.status_code == 400
    assert (await sumup.get_checkout(checkout.id)).status == "PENDING"
    assert webhooks.received == []


async def test_unknown_checkout_page_is_404(shopper) -> None:  # type: ignore[no-untyped-def]
    assert (await shopper.get(f"{SANDBOX_PATH}/pay/nope")).status_code == 404
    response = await shopper.post(f"{SANDBOX_PATH}/pay/nope/pay", form={"csrf_token": CSRF})
    assert response.status_code == 404


async def test_expire_hook_expires_and_notifies_paying_then_does_nothing(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder
) -> None:  # type: ignore[no-untyped-def]
    checkout = await create(sumup)
    auth = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    assert (await shopper.post(f"{SANDBOX_PATH}/checkouts/{checkout.id}/expire")).status_code == 401
    response = await shopper.post(f"{SANDBOX_PATH}/checkouts/{checkout.id}/expire", headers=auth)

    assert response.status_code == 200
    assert (await sumup.get_checkout(checkout.id)).status == "EXPIRED"
    assert len(webhooks.received) == 1
    page = await (await shopper.get(page_path(checkout))).get_data(as_text=True)
    assert "This checkout has expired and can no longer be paid." in page
    await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    assert (await sumup.get_checkout(checkout.id)).status == "EXPIRED"
    assert len(webhooks.received) == 1


async def test_webhooks_off_then_resent_on_demand(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, store: SandboxStore
) -> None:  # type: ignore[no-untyped-def]
    store.send_webhooks = False  # the webhook comes late: after the shopper is back
    checkout = await create(sumup)
    await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    assert webhooks.received == []

    auth = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    await shopper.post(f"{SANDBOX_PATH}/checkouts/{checkout.id}/webhook", headers=auth)
    assert [json.loads(body)["id"] for _, body, _ in webhooks.received] == [checkout.id]


async def test_a_failing_webhook_does_not_undo_the_payment(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder, store: SandboxStore
) -> None:  # type: ignore[no-untyped-def]
    webhooks.status = 500
    checkout = await create(sumup)
    response = await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    assert response.status_code == 303
    assert (await sumup.get_checkout(checkout.id)).status == "PAID"
    assert store.webhooks_sent == [(checkout.id, "500")]


async def test_unreachable_webhook_url_does_not_undo_the_payment(
    app, shopper, sumup: SumUpClient, store: SandboxStore
) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from shared.http_client import HTTP_CLIENT_KEY

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    original = app.app.extensions[HTTP_CLIENT_KEY]
    app.app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    try:
        checkout = await create(sumup)
        response = await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    finally:
        app.app.extensions[HTTP_CLIENT_KEY] = original
    assert response.status_code == 303
    assert (await sumup.get_checkout(checkout.id)).status == "PAID"
    assert store.webhooks_sent == [(checkout.id, "ConnectError")]


async def test_without_redirect_url_the_shopper_stays_on_the_page(
    shopper, sumup: SumUpClient, webhooks: WebhookRecorder
) -> None:  # type: ignore[no-untyped-def]
    checkout = await sumup.create_hosted_checkout(
        checkout_reference="coop-ref-9",
        amount_minor=500,
        currency="GBP",
        merchant_code="MSANDBOX1",
        description="x",
        return_url=RETURN_URL,
        redirect_url="",
    )
    response = await shopper.post(f"{page_path(checkout)}/pay", form={"csrf_token": CSRF})
    assert response.headers["Location"] == page_path(checkout)
