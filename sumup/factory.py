"""A SumUpClient for the site's settings (or a page's API key reference).

The code path is the same with the sandbox as with SumUp: only the base URL and the key
differ. The sandbox is reached at the cart's configured URL, never the request's Host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from shared.config import SANDBOX_PATH, ConfigError, Settings
from sumup.client import SumUpClient
from sumup.credentials import SANDBOX_API_KEY, resolve_api_key


def sumup_api_base(settings: Settings) -> str:
    if settings.sumup.sandbox:
        if "cart" not in settings.app_urls:
            raise ConfigError("app_urls.cart is not set: the SumUp sandbox is served there")
        return settings.app_urls["cart"] + SANDBOX_PATH
    return settings.sumup.api_base


def make_sumup_client(
    http: httpx.AsyncClient,
    settings: Settings,
    *,
    api_key_ref: str | None = None,
    env: Mapping[str, str] | None = None,
) -> SumUpClient:
    """`api_key_ref` is a page's own key reference; the site's is the fallback."""
    if settings.sumup.sandbox:
        api_key = SANDBOX_API_KEY
    else:
        api_key = resolve_api_key(
            api_key_ref or settings.sumup.api_key_ref,
            env=os.environ if env is None else env,
            secrets_file=settings.sumup.secrets_file,
        )
    return SumUpClient(
        http,
        base_url=sumup_api_base(settings),
        api_key=api_key,
        timeout=settings.sumup.timeout_seconds,
    )


# SumUp's hosted checkout lives at https://checkout.sumup.com/pay/<id> (openapi.json's
# hosted_checkout_url). The wildcard also lets the redirect chain pass through another
# SumUp host, which CSP's form-action would otherwise block mid-way.
SUMUP_HOSTED_CHECKOUT_SOURCES = ("https://*.sumup.com",)


def hosted_checkout_form_actions(settings: Settings) -> tuple[str, ...]:
    """What CSP's form-action must allow for the checkout form's redirect to the hosted
    checkout (form-action governs redirects after a form post too)."""
    if not settings.sumup.sandbox:
        return SUMUP_HOSTED_CHECKOUT_SOURCES
    cart_url = settings.app_urls.get("cart")
    if not cart_url:
        return ()  # the sandbox page is then on this origin: 'self' covers it
    # The sandbox's page is at the cart's configured URL, which may not be the origin the
    # shopper typed (localhost vs 127.0.0.1), so it is named rather than left to 'self'.
    parts = urlsplit(cart_url)
    return (f"{parts.scheme}://{parts.netloc}",)
