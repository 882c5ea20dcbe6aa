"""Which SumUp account a page's payments go to, and a client that talks to it.

A page may have its own merchant account (`PageConfig`); whatever it leaves unset comes from
the site's SumUp settings. The API key is looked up by its NAME (`api_key_ref`) only when a
client is made, so it never sits in a settings object, a template or a log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.page_config import PageConfig
from shared import config_checks as check
from shared.config import ConfigError, Settings, SumUpSettings
from sumup.client import SumUpClient
from sumup.factory import make_sumup_client


@dataclass(frozen=True)
class PaymentSettings:
    merchant_code: str
    currency: str
    api_key_ref: str  # the name of the secret, never the key
    checkout_reference_prefix: str
    page_id: int | None = None  # whose PageConfig it comes from; None: the site's settings


async def payment_settings_for(
    session: AsyncSession, *, page_id: int | None, site: SumUpSettings
) -> PaymentSettings:
    """The page's own settings where it has them, the site's for the rest."""
    config = None
    if page_id is not None:
        config = (
            await session.execute(
                select(
                    PageConfig.sumup_merchant_code,
                    PageConfig.currency,
                    PageConfig.sumup_api_key_ref,
                    PageConfig.checkout_reference_prefix,
                ).where(PageConfig.page_id == page_id)
            )
        ).one_or_none()
    merchant_code, currency, api_key_ref, prefix = config or (None, None, None, None)
    return PaymentSettings(
        merchant_code=merchant_code or site.merchant_code,
        currency=currency or site.currency,
        api_key_ref=api_key_ref or site.api_key_ref,
        checkout_reference_prefix=prefix or site.checkout_reference_prefix,
        page_id=page_id if config else None,
    )


def check_account(account: PaymentSettings, *, secrets_file: Path | None) -> None:
    """Refuse a page config's values that the site's own settings could not have (those
    are checked at start-up): ConfigError names the page and the setting, never a key.

    The key reference above all: only SUMUP_API_KEY, SUMUP_API_KEY_<NAME> or a key of the
    secrets file. Anything else (SECRET_KEY, DATABASE_URL_ASYNC, ...) would send whatever
    that variable holds to SumUp as a bearer token.
    """
    whose = (
        "the site's settings" if account.page_id is None else f"page {account.page_id}'s PageConfig"
    )
    try:
        check.check_api_key_ref("sumup_api_key_ref", account.api_key_ref, secrets_file=secrets_file)
        check.merchant_code("sumup_merchant_code", account.merchant_code)
        check.checkout_prefix("checkout_reference_prefix", account.checkout_reference_prefix)
    except ConfigError as error:
        raise ConfigError(f"{whose}: {error}") from None


class SumUpClients:
    """Makes the SumUp client for a page's account: the real API, or the app's own sandbox
    (sumup.factory decides; the code path is the same either way)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self._env = env

    def __repr__(self) -> str:
        return f"SumUpClients(sandbox={self.settings.sumup.sandbox})"

    @property
    def site(self) -> SumUpSettings:
        return self.settings.sumup

    def __call__(self, account: PaymentSettings) -> SumUpClient:
        """Raises ConfigError (naming the page and the key's reference, never a value) when
        the key is missing or the page's SumUp settings are not allowed."""
        check_account(account, secrets_file=self.settings.sumup.secrets_file)
        return make_sumup_client(
            self.http, self.settings, api_key_ref=account.api_key_ref, env=self._env
        )
