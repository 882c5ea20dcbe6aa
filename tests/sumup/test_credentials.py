"""API keys come from the environment or the secrets file; errors name the reference only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from shared.config import SANDBOX_PATH, ConfigError, Settings, load_settings
from sumup.credentials import SANDBOX_API_KEY, resolve_api_key
from sumup.factory import make_sumup_client

KEY = "sup_sk_secretvalue123"


def test_key_from_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("SUMUP_API_KEY_PAGE: from-file\n")
    assert (
        resolve_api_key("SUMUP_API_KEY_PAGE", env={"SUMUP_API_KEY_PAGE": KEY}, secrets_file=secrets)
        == KEY
    )


def test_key_from_the_secrets_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"SUMUP_API_KEY_PAGE: {KEY}\nOTHER: x\n")
    assert resolve_api_key("SUMUP_API_KEY_PAGE", env={}, secrets_file=secrets) == KEY


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "'SUMUP_API_KEY_PAGE' is not set in the environment"),
        ("OTHER: x\n", "'SUMUP_API_KEY_PAGE' is not set in the environment or"),
        ("SUMUP_API_KEY_PAGE: [1, 2]\n", "'SUMUP_API_KEY_PAGE' in .* is not a text value"),
        (f"OTHER: {KEY}\n  bad: [\n", "is not valid YAML"),
        (f"- {KEY}\n", "must be a mapping"),
    ],
)
def test_missing_or_unreadable_key_names_the_reference_not_a_value(
    tmp_path: Path, content: str | None, message: str
) -> None:
    secrets = None
    if content is not None:
        secrets = tmp_path / "secrets.yaml"
        secrets.write_text(content)
    with pytest.raises(ConfigError, match=message) as raised:
        resolve_api_key("SUMUP_API_KEY_PAGE", env={"OTHER": KEY}, secrets_file=secrets)
    assert KEY not in str(raised.value)


def test_unreadable_secrets_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        resolve_api_key("K", env={}, secrets_file=tmp_path / "missing.yaml")


async def test_sandbox_client_talks_to_the_cart_url_with_the_sandbox_key(
    settings: Settings,
) -> None:
    assert settings.sumup.sandbox
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = make_sumup_client(http, settings, api_key_ref="PAGE_KEY_NOT_SET")
        assert await client.find_checkout_by_reference("r") is None
    assert (
        str(seen[0].url)
        == f"{settings.app_urls['cart']}{SANDBOX_PATH}/v0.1/checkouts?checkout_reference=r"
    )
    assert seen[0].headers["authorization"] == f"Bearer {SANDBOX_API_KEY}"


async def test_real_client_uses_the_pages_key_reference_then_the_sites(tmp_path: Path) -> None:
    env = {
        "APP_MODE": "development",
        "SUMUP_API_KEY": "site-key",
        "SUMUP_API_KEY_PAGE": "page-key",
        "CART_VAR_DIR": str(tmp_path),
    }
    settings = load_settings(env)
    assert not settings.sumup.sandbox
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host} {request.headers['authorization']}")
        return httpx.Response(200, json=[])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await make_sumup_client(
            http, settings, api_key_ref="SUMUP_API_KEY_PAGE", env=env
        ).find_checkout_by_reference("r")
        await make_sumup_client(http, settings, env=env).find_checkout_by_reference("r")
        with pytest.raises(ConfigError, match="'SUMUP_API_KEY_NOT_THERE' is not set"):
            make_sumup_client(http, settings, api_key_ref="SUMUP_API_KEY_NOT_THERE", env=env)
    assert seen == ["api.sumup.com Bearer page-key", "api.sumup.com Bearer site-key"]
