"""A SumUpClient for the site's settings (or a page's API key reference).

The code path is the same with the sandbox as with SumUp: only the base URL and the key
differ. The sandbox is reached at the cart's configured URL, never the request's Host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

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
