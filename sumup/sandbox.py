"""A stand-in for SumUp, served by the app itself when no SumUp account is configured.

It speaks SumUp's checkout API (create, get, list by reference, deactivate, refund) at
SANDBOX_PATH, with SumUp's status codes and error bodies, and serves the hosted payment page
that `hosted_checkout_url` points to: "Pay" and "Decline" change the checkout as SumUp would,
POST SumUp's webhook to the checkout's `return_url` and send the shopper to `redirect_url`.
Pay takes the card number on the page: the prefilled test card pays, the decline test card
is declined with its reason shown on the page (the shopper may try again); the amount never
decides. The client code path is the one used with SumUp; only the base URL and key differ.

Never in production: app.py registers it only when settings.sumup.sandbox, which the
settings never set in production mode, and init_sumup_sandbox refuses production too.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import httpx
from quart import (
    Blueprint,
    Quart,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from shared.base_app import settings_of
from shared.config import SANDBOX_PATH
from shared.csrf import csrf_exempt
from shared.http_client import http_client_of
from sumup.client import dumps_exact
from sumup.credentials import SANDBOX_API_KEY
from sumup.factory import sumup_api_base
from sumup.sandbox_store import (
    DECLINE_BUTTON,
    TEST_CARD_DECLINES,
    TEST_CARD_PAYS,
    TEST_CARDS,
    BadCardNumber,
    SandboxCheckout,
    SandboxRefusal,
    SandboxStore,
    read_card_number,
    spaced,
)

log = logging.getLogger(__name__)

STORE_KEY = "sumup_sandbox"
WEBHOOK_TIMEOUT_SECONDS = 10.0

bp = Blueprint("sumup_sandbox", __name__, url_prefix=SANDBOX_PATH, template_folder="templates")


def init_sumup_sandbox(app: Quart) -> None:
    if settings_of(app).production:
        raise RuntimeError("the SumUp sandbox is never served in production mode")
    app.extensions[STORE_KEY] = SandboxStore()
    app.register_blueprint(bp)


def sandbox_store(app: Quart) -> SandboxStore:
    return app.extensions[STORE_KEY]


def _store() -> SandboxStore:
    return sandbox_store(current_app)  # type: ignore[arg-type]


def _json(status: int, data: Any, content_type: str = "application/json") -> Response:
    # dumps_exact: amounts go out as exact numbers, as SumUp writes them.
    return Response(dumps_exact(data), status=status, content_type=content_type)


@bp.errorhandler(SandboxRefusal)
async def _refused(refusal: SandboxRefusal) -> Response:
    return _json(refusal.status, refusal.body, refusal.content_type)


def _checkout_json(checkout: SandboxCheckout, *, detailed: bool) -> dict[str, Any]:
    return checkout.to_json(
        pay_url_base=sumup_api_base(settings_of(current_app)), detailed=detailed
    )


def _require_key() -> None:
    """SumUp's gateway answers 401 (a problem document) to a missing or wrong key."""
    if request.headers.get("Authorization") != f"Bearer {SANDBOX_API_KEY}":
        raise SandboxRefusal(
            401,
            {
                "type": "https://developer.sumup.com/problem/unauthorized",
                "title": "Unauthorized",
                "status": 401,
                "detail": "Unauthorized.",
            },
            "application/json",
        )


async def _body() -> Any:
    text = await request.get_data(as_text=True)
    if not text:
        return None
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError:
        raise SandboxRefusal(
            400,
            {"message": "Validation error", "error_code": "INVALID", "param": "body"},
            "application/json",
        ) from None


# --- SumUp's API ----------------------------------------------------------------------


@bp.post("/v0.1/checkouts")
@csrf_exempt
async def create_checkout() -> Response:
    _require_key()
    checkout = _store().create(await _body())
    return _json(201, _checkout_json(checkout, detailed=False))


@bp.get("/v0.1/checkouts")
async def list_checkouts() -> Response:
    _require_key()
    found = _store().find(request.args.get("checkout_reference"))
    return _json(200, [_checkout_json(c, detailed=True) for c in found])


@bp.get("/v0.1/checkouts/<checkout_id>")
async def get_checkout(checkout_id: str) -> Response:
    _require_key()
    return _json(200, _checkout_json(_store().get(checkout_id), detailed=True))


@bp.delete("/v0.1/checkouts/<checkout_id>")
@csrf_exempt
async def deactivate_checkout(checkout_id: str) -> Response:
    _require_key()
    return _json(200, _checkout_json(_store().deactivate(checkout_id), detailed=False))


@bp.post("/v1.0/merchants/<merchant_code>/payments/<transaction_id>/refunds")
@csrf_exempt
async def refund_transaction(merchant_code: str, transaction_id: str) -> Response:
    _require_key()
    _store().refund(merchant_code, transaction_id, await _body())
    return _json(201, {})


# --- Test and operator hooks (sandbox only; the API key, like the API) -----------------


@bp.post("/checkouts/<checkout_id>/expire")
@csrf_exempt
async def expire_checkout(checkout_id: str) -> Response:
    """What SumUp does when a checkout's 30 minutes are over: EXPIRED, and a webhook."""
    _require_key()
    checkout = _store().expire(checkout_id)
    await send_webhook(checkout)
    return _json(200, _checkout_json(checkout, detailed=True))


@bp.post("/checkouts/<checkout_id>/webhook")
@csrf_exempt
async def resend_webhook(checkout_id: str) -> Response:
    """SumUp's retry of a webhook, on demand."""
    _require_key()
    checkout = _store().get(checkout_id)
    await send_webhook(checkout, force=True)
    return _json(200, _checkout_json(checkout, detailed=True))


# --- The hosted payment page ----------------------------------------------------------


def _checkout_or_404(checkout_id: str) -> SandboxCheckout:
    try:
        return _store().get(checkout_id)
    except SandboxRefusal:
        abort(404)


CARD_FIELD = "card_number"
TYPED_KEPT = 64  # of a refused card number, what the page shows back


async def _page(
    checkout: SandboxCheckout, *, card_number: str = "", card_error: str | None = None
) -> str:
    return await render_template(
        "sumup_sandbox/pay.html",
        checkout=checkout,
        card_number=card_number or spaced(TEST_CARD_PAYS),
        card_error=card_error,
        card_pays=spaced(TEST_CARD_PAYS),
        card_declines=spaced(TEST_CARD_DECLINES),
    )


@bp.get("/pay/<checkout_id>")
async def pay_page(checkout_id: str) -> str:
    return await _page(_checkout_or_404(checkout_id))


@bp.post("/pay/<checkout_id>/pay")
async def pay(checkout_id: str) -> Any:
    """Pay with the card typed on the page. A card number that is not one of the test
    cards re-shows the page (400) and changes nothing. A Pay posted without the field at
    all (a test, a script) pays with the prefilled card, as a shopper who changed nothing."""
    checkout = _checkout_or_404(checkout_id)
    typed = (await request.form).get(CARD_FIELD)
    card = TEST_CARD_PAYS
    if typed is not None and checkout.status in ("PENDING", "FAILED"):
        try:
            card = read_card_number(typed)
        except BadCardNumber as exc:
            page = await _page(checkout, card_number=typed[:TYPED_KEPT], card_error=str(exc))
            return page, 400
    reason = TEST_CARDS[card]
    if reason is None:
        return await _attempt(checkout, succeed=True)
    # Declined by the card: the page says why and the shopper may try another card, as on a
    # hosted checkout; "Back to the shop" (redirect_url) is there too.
    return await _attempt(checkout, succeed=False, decline_reason=reason, stay=True)


@bp.post("/pay/<checkout_id>/decline")
async def decline(checkout_id: str) -> Any:
    return await _attempt(_checkout_or_404(checkout_id), succeed=False)


async def _attempt(
    checkout: SandboxCheckout,
    *,
    succeed: bool,
    decline_reason: str = DECLINE_BUTTON,
    stay: bool = False,
) -> Any:
    attempts_before = len(checkout.transactions)
    _store().pay(checkout.id, succeed=succeed, decline_reason=decline_reason)
    if len(checkout.transactions) > attempts_before:
        await send_webhook(checkout)
    page = url_for("sumup_sandbox.pay_page", checkout_id=checkout.id)
    target = page if stay else (checkout.redirect_url or page)
    return redirect(target, 303)


async def send_webhook(checkout: SandboxCheckout, *, force: bool = False) -> None:
    """POST SumUp's webhook to the checkout's return_url, as SumUp does. A failure is
    logged, not raised: SumUp retries later (here: the resend hook), and the shopper's
    payment stands either way."""
    store = _store()
    if not checkout.return_url or not (store.send_webhooks or force):
        return
    payload = {"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout.id}
    try:
        response = await http_client_of(current_app).post(  # type: ignore[arg-type]
            checkout.return_url, json=payload, timeout=WEBHOOK_TIMEOUT_SECONDS
        )
        outcome = str(response.status_code)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        outcome = type(exc).__name__
    store.webhooks_sent.append((checkout.id, outcome))
    if not outcome.startswith("2"):
        log.warning("sandbox webhook for checkout %s: %s", checkout.id, outcome)
