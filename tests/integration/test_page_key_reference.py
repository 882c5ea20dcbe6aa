"""A page's SumUp key reference names SUMUP_API_KEY, SUMUP_API_KEY_<NAME> or a key of the
secrets file, nothing else (issue 8, finding 5): a page_configs row naming SECRET_KEY used
to send the shared session secret to SumUp as the bearer token. Now the page's payments are
"not configured": the shopper's order is kept and the message is honest, the operator's log
line names the page and the reference, and no key value goes anywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.payment import PaymentUrls, start_payment
from bp.cart.services.payment_errors import PaymentError
from models import Order, PageConfig
from shared.config import ConfigError, Settings, load_settings
from sumup.credentials import resolve_api_key
from tests.factories import Factory
from tests.http.checkout_forms import rendered_checkout_form, start_session
from tests.integration.checkout_data import ANON
from tests.integration.payment_data import attempts_of, placed_bakery_order, stored_order

SESSION_SECRET = "the-shared-session-secret-" + "7" * 20
SITE_KEY = "sup_sk_site_" + "1" * 20


def _real_sumup(settings: Settings) -> Settings:
    real = load_settings(
        {
            "APP_MODE": "development",
            "DATABASE_URL_ASYNC": settings.database_url,
            "CART_VAR_DIR": str(settings.var_dir),
            "SECRET_KEY": SESSION_SECRET,
            "SUMUP_API_BASE": "https://api.sumup.example",
            "SUMUP_API_KEY": SITE_KEY,
        }
    )
    assert not real.sumup.sandbox
    return real


@pytest.mark.parametrize("ref", ["SECRET_KEY", "DATABASE_URL_ASYNC", "HOME", "sumup_api_key"])
async def test_a_page_naming_another_variable_is_not_configured_and_nothing_is_sent(
    app,  # type: ignore[no-untyped-def]  (registers the domain services)
    db: AsyncSession,
    factory: Factory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    ref: str,
) -> None:
    monkeypatch.setenv("SECRET_KEY", SESSION_SECRET)
    monkeypatch.setenv("SUMUP_API_KEY", SITE_KEY)
    placed = await placed_bakery_order(db, factory)
    page_id = placed.cart.page_id
    db.add(PageConfig(page_id=page_id, sumup_api_key_ref=ref))
    await db.commit()
    sent: list[str] = []

    def sumup(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("Authorization", ""))
        return httpx.Response(500)

    real = _real_sumup(settings)
    order = await db.get(Order, placed.order_id)
    assert order is not None
    with caplog.at_level(logging.DEBUG), pytest.raises(PaymentError) as refused:
        await start_payment(
            db,
            order=order,
            http=httpx.AsyncClient(transport=httpx.MockTransport(sumup)),
            settings=real,
            urls=PaymentUrls.from_settings(real),
        )

    assert sent == []  # SumUp was never called, with that variable or anything else
    assert refused.value.code == "payment_not_configured"
    assert "Payments are not available for this shop right now" in refused.value.message
    assert ref not in refused.value.message  # the shopper gets no setup details
    # The operator's line names the page and the reference, never a value.
    assert f"page {page_id}" in caplog.text and repr(ref) in caplog.text
    assert "is not allowed" in caplog.text
    assert SESSION_SECRET not in caplog.text and SITE_KEY not in caplog.text
    assert await attempts_of(db, placed.order_id) == []
    assert (await stored_order(db, placed.order_id))[0] == "pending"


async def test_a_page_with_an_allowed_reference_pays_with_its_own_key(
    app,  # type: ignore[no-untyped-def]
    db: AsyncSession,
    factory: Factory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUMUP_API_KEY", SITE_KEY)
    monkeypatch.setenv("SUMUP_API_KEY_BAKERY", "sup_sk_bakery_" + "2" * 20)
    placed = await placed_bakery_order(db, factory)
    db.add(PageConfig(page_id=placed.cart.page_id, sumup_api_key_ref="SUMUP_API_KEY_BAKERY"))
    await db.commit()
    sent: list[str] = []

    def sumup(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(503)

    real = _real_sumup(settings)
    order = await db.get(Order, placed.order_id)
    assert order is not None
    with pytest.raises(PaymentError) as refused:
        await start_payment(
            db,
            order=order,
            http=httpx.AsyncClient(transport=httpx.MockTransport(sumup)),
            settings=real,
            urls=PaymentUrls.from_settings(real),
        )
    assert refused.value.code == "payment_unavailable"  # SumUp was asked, and said 503
    assert sent and set(sent) == {"Bearer sup_sk_bakery_" + "2" * 20}


async def test_the_shopper_checking_out_at_such_a_page_keeps_the_order_and_reads_why(
    app, client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.checkout_data import bakery_cart

    cart = await bakery_cart(factory)
    db.add(PageConfig(page_id=cart.page_id, sumup_api_key_ref="SECRET_KEY"))
    await db.commit()
    await start_session(client, ANON.session_id)
    action, fields = await rendered_checkout_form(client, "/cart/bakery/")

    response = await client.post(action, form=fields)

    assert response.status_code == 303
    page = await (await client.get(response.headers["Location"])).get_data(as_text=True)
    assert "Payments are not available for this shop right now. Your order" in page
    assert "is saved; please try paying again later." in page
    assert "SECRET_KEY" not in page


def test_resolving_a_key_never_reads_another_environment_variable(tmp_path: Path) -> None:
    env = {"SECRET_KEY": SESSION_SECRET}
    with pytest.raises(ConfigError, match="'SECRET_KEY' is not allowed") as raised:
        resolve_api_key("SECRET_KEY", env=env, secrets_file=None)
    assert SESSION_SECRET not in str(raised.value)

    # A secrets file may have a key of that name: then that key, never the variable.
    secrets_file = tmp_path / "sumup.yaml"
    secrets_file.write_text("SECRET_KEY: sup_sk_from_the_file\n")
    assert resolve_api_key("SECRET_KEY", env=env, secrets_file=secrets_file) == (
        "sup_sk_from_the_file"
    )


def test_a_reference_that_looks_like_a_key_itself_is_not_repeated() -> None:
    pasted = "sup_sk_" + "8" * 30
    with pytest.raises(ConfigError) as raised:
        resolve_api_key(pasted, env={}, secrets_file=None)
    assert pasted not in str(raised.value) and "not shown" in str(raised.value)


def test_the_sites_own_reference_naming_secret_key_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {
                "APP_MODE": "production",
                "SECRET_KEY": SESSION_SECRET,
                "DATABASE_URL_ASYNC": "postgresql+asyncpg://cart@db.internal/coop",
                "SUMUP_API_KEY_REF": "SECRET_KEY",
                "CART_VAR_DIR": str(tmp_path),
            }
        )
    message = str(raised.value)
    assert message.startswith("SUMUP_API_KEY_REF 'SECRET_KEY' is not allowed")
    assert "SUMUP_API_KEY_<NAME>" in message and SESSION_SECRET not in message
