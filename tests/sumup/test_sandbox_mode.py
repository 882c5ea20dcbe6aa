"""The sandbox exists only in development without SumUp credentials; the content policy
lets the checkout form's redirect reach the hosted checkout, and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import SANDBOX_PATH, Settings, load_settings
from shared.db import make_sessionmaker
from shared.http_client import HTTP_CLIENT_KEY
from sumup.client import SumUpClient
from sumup.credentials import SANDBOX_API_KEY
from sumup.sandbox import init_sumup_sandbox

SANDBOX_PATHS = [
    ("GET", f"{SANDBOX_PATH}/pay/some-checkout"),
    ("GET", f"{SANDBOX_PATH}/v0.1/checkouts"),
    ("POST", f"{SANDBOX_PATH}/v0.1/checkouts"),
    ("POST", f"{SANDBOX_PATH}/checkouts/some-checkout/expire"),
]


async def _started_app(settings: Settings, engine: AsyncEngine) -> AsyncIterator:  # type: ignore[type-arg]
    from app import create_app

    quart_app = create_app(settings)
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    quart_app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(204))
    )
    async with quart_app.test_app() as test_app:
        yield test_app


@pytest.fixture
async def production_app(database_url: str, var_dir: Path, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    env = {
        "APP_MODE": "production",
        "SECRET_KEY": "p" * 40,
        "DATABASE_URL_ASYNC": database_url,
        "CART_VAR_DIR": str(var_dir),
    }
    settings = load_settings(env)
    assert not settings.sumup.sandbox
    async for test_app in _started_app(settings, engine):
        yield test_app


@pytest.fixture
async def credentials_app(database_url: str, var_dir: Path, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    """Development mode with a real SumUp key: SumUp itself, no sandbox."""
    env = {
        "APP_MODE": "development",
        "DATABASE_URL_ASYNC": database_url,
        "CART_VAR_DIR": str(var_dir),
        "SECRET_KEY": "d" * 40,
        "SUMUP_API_KEY": "sup_sk_real",
        # The test client calls itself localhost: no redirect to app_urls.cart's host.
        "CANONICAL_HOST_REDIRECT": "false",
    }
    async for test_app in _started_app(load_settings(env), engine):
        yield test_app


@pytest.mark.parametrize(("method", "path"), SANDBOX_PATHS)
async def test_production_has_no_sandbox(production_app, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    response = await production_app.test_client().open(path, method=method, headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path"), SANDBOX_PATHS)
async def test_configured_sumup_has_no_sandbox(credentials_app, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    response = await credentials_app.test_client().open(path, method=method, headers=headers)
    assert response.status_code == 404


def test_the_sandbox_refuses_to_be_installed_in_production(tmp_path: Path) -> None:
    from quart import Quart

    production = load_settings(
        {
            "APP_MODE": "production",
            "SECRET_KEY": "p" * 40,
            "DATABASE_URL_ASYNC": "sqlite+aiosqlite:///x",
        }
    )
    app = Quart(__name__)
    app.extensions["settings"] = production
    with pytest.raises(RuntimeError, match="never served in production"):
        init_sumup_sandbox(app)
    assert "sumup_sandbox" not in app.blueprints


def form_action_allows(policy: str, url: str, *, page_origin: str) -> bool:
    """Whether CSP's form-action lets a form on page_origin post to (or be redirected to)
    url: 'self', scheme://host[:port] and scheme://*.host sources, as browsers match them."""
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    target = urlsplit(url)
    for source in directives.get("form-action", []):
        if source == "'self'":
            if f"{target.scheme}://{target.netloc}" == page_origin:
                return True
            continue
        allowed = urlsplit(source)
        if allowed.scheme != target.scheme or (allowed.port or None) != (target.port or None):
            continue
        host = allowed.hostname or ""
        if host.startswith("*."):
            if (target.hostname or "").endswith(host[1:]):
                return True
        elif host == target.hostname:
            return True
    return False


def test_form_action_matcher_itself() -> None:
    policy = "default-src 'self'; form-action 'self' https://*.sumup.com"
    page = "https://cart.coop.example"
    assert form_action_allows(policy, "https://checkout.sumup.com/pay/x", page_origin=page)
    assert form_action_allows(policy, "https://cart.coop.example/cart/", page_origin=page)
    assert not form_action_allows(policy, "http://checkout.sumup.com/pay/x", page_origin=page)
    assert not form_action_allows(policy, "https://sumup.com.evil.example/", page_origin=page)
    assert not form_action_allows(policy, "https://evil.example/", page_origin=page)


async def test_production_policy_lets_the_checkout_redirect_reach_sumup(production_app) -> None:  # type: ignore[no-untyped-def]
    response = await production_app.test_client().get("/cart/")
    policy = response.headers["Content-Security-Policy"]
    page = "https://cart.coop.example"
    # The hosted checkout URL as SumUp documents it (openapi.json, hosted_checkout_url).
    hosted = "https://checkout.sumup.com/pay/8f9316a3-cda9-42a9-9771-54d534315676"
    assert form_action_allows(policy, hosted, page_origin=page)
    assert not form_action_allows(policy, "https://evil.example/pay", page_origin=page)
    assert not form_action_allows(policy, "http://checkout.sumup.com/pay/x", page_origin=page)


async def test_sandbox_policy_lets_the_checkout_redirect_reach_the_sandbox_page(
    client, sumup: SumUpClient, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    checkout = await sumup.create_hosted_checkout(
        checkout_reference="coop-csp-1",
        amount_minor=100,
        currency="GBP",
        merchant_code="MSANDBOX1",
        description="x",
        return_url="http://127.0.0.1:8002/checkout/webhook",
        redirect_url="http://127.0.0.1:8002/checkout/return/x",
    )
    policy = (await client.get("/cart/")).headers["Content-Security-Policy"]
    assert checkout.hosted_checkout_url
    # Even when the shopper reached the cart by another name than the configured one.
    for page in (settings.app_urls["cart"], "http://localhost:8002"):
        assert form_action_allows(policy, checkout.hosted_checkout_url, page_origin=page)
    assert not form_action_allows(policy, "https://checkout.sumup.com/pay/x", page_origin=page)
