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

Its checkouts are kept where SUMUP_SANDBOX_STORE says (sumup/sandbox_backend.py): in the
app's database by default, so that every process of a development deployment answers every
checkout (hypercorn --workers N, several hosts behind a proxy), or in this process's memory.

Bounded like SumUp (sandbox_store.py says how): a return_url or redirect_url off the cart
service's own origin is refused at create and, checked again when the shopper pays, never
posted to nor sent to; bodies are at most MAX_BODY_BYTES and their numbers are never
evaluated as floats or Decimals before read_amount has bounded them; the store keeps at
most MAX_CHECKOUTS. No input reaches a 500: every refusal of the API is one of the answers
SumUp's OpenAPI documents for the operation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from werkzeug.exceptions import RequestEntityTooLarge

from shared.base_app import settings_of
from shared.config import SANDBOX_PATH
from shared.csrf import csrf_exempt
from shared.db import engine_of
from shared.http_client import http_client_of
from sumup.client import dumps_exact
from sumup.credentials import SANDBOX_API_KEY
from sumup.factory import sumup_api_base
from sumup.sandbox_backend import STORE_KEY, SandboxBackend, backend_of
from sumup.sandbox_db import DatabaseSandboxStore
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
    read_json,
    same_origin,
    spaced,
)

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10.0
# A create or refund body is a few hundred bytes; anything over this is refused (400).
MAX_BODY_BYTES = 16 * 1024

bp = Blueprint("sumup_sandbox", __name__, url_prefix=SANDBOX_PATH, template_folder="templates")


def init_sumup_sandbox(app: Quart) -> None:
    settings = settings_of(app)
    if settings.production:
        raise RuntimeError("the SumUp sandbox is never served in production mode")
    if settings.sumup.sandbox_store == "memory":
        app.extensions[STORE_KEY] = SandboxStore(own_origin=_cart_origin(app))
    else:
        app.extensions[STORE_KEY] = DatabaseSandboxStore(
            lambda: engine_of(app), own_origin=_cart_origin(app)
        )
    app.register_blueprint(bp)


def _cart_origin(app: Quart) -> str | None:
    """This service's own URL (settings.app_urls["cart"]): return_url and redirect_url
    must be on its origin."""
    return settings_of(app).app_urls.get("cart")


def sandbox_store(app: Quart) -> Any:
    """The app's store itself: a SandboxStore (memory; what the in-process tests read and
    steer) or a DatabaseSandboxStore."""
    return app.extensions[STORE_KEY]


def _store() -> SandboxBackend:
    return backend_of(current_app)  # type: ignore[arg-type]


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


def _bad_body() -> SandboxRefusal:
    """SumUp's answer to a create body it cannot read (ErrorExtended)."""
    return SandboxRefusal(
        400,
        {"message": "Validation error", "error_code": "INVALID", "param": "body"},
        "application/json",
    )


def _bad_refund_body() -> SandboxRefusal:
    """The refund operation answers its 400 as a problem document."""
    return SandboxRefusal(
        400,
        {
            "type": "https://developer.sumup.com/problem/bad-request",
            "title": "Bad Request",
            "status": 400,
            "detail": f"the body is not a JSON object of at most {MAX_BODY_BYTES // 1024} KiB",
        },
        "application/problem+json",
    )


async def _body(refused: Callable[[], SandboxRefusal]) -> Any:
    """The JSON body, numbers kept as written (JsonNumber), read up to MAX_BODY_BYTES: a
    larger body, one that is not JSON, or JSON nested too deeply gets `refused()`, a 400."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise refused()
    data = bytearray()
    try:
        async for chunk in request.body:
            data += chunk
            if len(data) > MAX_BODY_BYTES:
                raise refused()
    except RequestEntityTooLarge:  # over the app's own limit before this one saw it
        raise refused() from None
    try:
        return read_json(bytes(data))
    except ValueError:
        raise refused() from None


# --- SumUp's API ----------------------------------------------------------------------


@bp.post("/v0.1/checkouts")
@csrf_exempt
async def create_checkout() -> Response:
    _require_key()
    checkout = await _store().create(await _body(_bad_body))
    return _json(201, _checkout_json(checkout, detailed=False))


@bp.get("/v0.1/checkouts")
async def list_checkouts() -> Response:
    _require_key()
    found = await _store().find(request.args.get("checkout_reference"))
    return _json(200, [_checkout_json(c, detailed=True) for c in found])


@bp.get("/v0.1/checkouts/<checkout_id>")
async def get_checkout(checkout_id: str) -> Response:
    _require_key()
    return _json(200, _checkout_json(await _store().get(checkout_id), detailed=True))


@bp.delete("/v0.1/checkouts/<checkout_id>")
@csrf_exempt
async def deactivate_checkout(checkout_id: str) -> Response:
    _require_key()
    return _json(200, _checkout_json(await _store().deactivate(checkout_id), detailed=False))


@bp.post("/v1.0/merchants/<merchant_code>/payments/<transaction_id>/refunds")
@csrf_exempt
async def refund_transaction(merchant_code: str, transaction_id: str) -> Response:
    _require_key()
    await _store().refund(merchant_code, transaction_id, await _body(_bad_refund_body))
    return _json(201, {})


# --- Test and operator hooks (sandbox only; the API key, like the API) -----------------


@bp.post("/checkouts/<checkout_id>/expire")
@csrf_exempt
async def expire_checkout(checkout_id: str) -> Response:
    """What SumUp does when a checkout's 30 minutes are over: EXPIRED, and a webhook."""
    _require_key()
    checkout = await _store().expire(checkout_id)
    await send_webhook(checkout)
    return _json(200, _checkout_json(checkout, detailed=True))


@bp.post("/checkouts/<checkout_id>/webhook")
@csrf_exempt
async def resend_webhook(checkout_id: str) -> Response:
    """SumUp's retry of a webhook, on demand."""
    _require_key()
    checkout = await _store().get(checkout_id)
    await send_webhook(checkout, force=True)
    return _json(200, _checkout_json(checkout, detailed=True))


# --- The hosted payment page ----------------------------------------------------------


async def _checkout_or_404(checkout_id: str) -> SandboxCheckout:
    try:
        return await _store().get(checkout_id)
    except SandboxRefusal:
        abort(404)


CARD_FIELD = "card_number"
TYPED_KEPT = 64  # of a refused card number, what the page shows back


def _back_url(checkout: SandboxCheckout) -> str | None:
    """Where the shopper goes back to: the checkout's redirect_url, if it is on this
    service's origin now too (checked again, whatever the store holds)."""
    if same_origin(checkout.redirect_url, _cart_origin(current_app)):  # type: ignore[arg-type]
        return checkout.redirect_url
    return None


async def _page(
    checkout: SandboxCheckout, *, card_number: str = "", card_error: str | None = None
) -> str:
    return await render_template(
        "sumup_sandbox/pay.html",
        checkout=checkout,
        back_url=_back_url(checkout),
        card_number=card_number or spaced(TEST_CARD_PAYS),
        card_error=card_error,
        card_pays=spaced(TEST_CARD_PAYS),
        card_declines=spaced(TEST_CARD_DECLINES),
    )


@bp.get("/pay/<checkout_id>")
async def pay_page(checkout_id: str) -> str:
    return await _page(await _checkout_or_404(checkout_id))


@bp.post("/pay/<checkout_id>/pay")
async def pay(checkout_id: str) -> Any:
    """Pay with the card typed on the page. A card number that is not one of the test
    cards re-shows the page (400) and changes nothing. A Pay posted without the field at
    all (a test, a script) pays with the prefilled card, as a shopper who changed nothing."""
    checkout = await _checkout_or_404(checkout_id)
    typed = (await request.form).get(CARD_FIELD)
    card = TEST_CARD_PAYS
    if typed is not None and checkout.payable:
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
    return await _attempt(await _checkout_or_404(checkout_id), succeed=False)


async def _attempt(
    checkout: SandboxCheckout,
    *,
    succeed: bool,
    decline_reason: str = DECLINE_BUTTON,
    stay: bool = False,
) -> Any:
    checkout, paid_or_declined = await _store().pay(
        checkout.id, succeed=succeed, decline_reason=decline_reason
    )
    if paid_or_declined:
        await send_webhook(checkout)
    page = url_for("sumup_sandbox.pay_page", checkout_id=checkout.id)
    target = page if stay else (_back_url(checkout) or page)
    return redirect(target, 303)


async def send_webhook(checkout: SandboxCheckout, *, force: bool = False) -> None:
    """POST SumUp's webhook to the checkout's return_url, as SumUp does. A failure is
    logged, not raised: SumUp retries later (here: the resend hook), and the shopper's
    payment stands either way. Only ever to this service's own origin, checked here again
    whatever the store holds: a return_url anywhere else gets nothing."""
    store = _store()
    if not checkout.return_url or not (store.send_webhooks or force):
        return
    if not same_origin(checkout.return_url, _cart_origin(current_app)):  # type: ignore[arg-type]
        log.warning("sandbox webhook for checkout %s: not sent, return_url off origin", checkout.id)
        store.record_webhook(checkout.id, "refused")
        return
    payload = {"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout.id}
    try:
        response = await http_client_of(current_app).post(  # type: ignore[arg-type]
            checkout.return_url, json=payload, timeout=WEBHOOK_TIMEOUT_SECONDS
        )
        outcome = str(response.status_code)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        outcome = type(exc).__name__
    store.record_webhook(checkout.id, outcome)
    if not outcome.startswith("2"):
        log.warning("sandbox webhook for checkout %s: %s", checkout.id, outcome)
