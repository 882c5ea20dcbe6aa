"""CANONICAL_HOST_REDIRECT and SUMUP_SANDBOX_STORE: their defaults, checked at start-up like
every setting, and which Host headers name APP_URL_CART's host and port."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.canonical_host import CanonicalHost
from shared.config import ConfigError, load_settings


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CART_VAR_DIR": str(tmp_path / "var"), **values}


def test_development_redirects_to_one_host_and_keeps_the_sandbox_in_the_database(
    tmp_path: Path,
) -> None:
    settings = load_settings(_env(tmp_path))

    assert settings.canonical_host_redirect is True
    assert settings.sumup.sandbox_store == "database"


def test_both_can_be_set_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        _env(tmp_path, CANONICAL_HOST_REDIRECT="off", SUMUP_SANDBOX_STORE=" Memory ")
    )

    assert settings.canonical_host_redirect is False
    assert settings.sumup.sandbox_store == "memory"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CANONICAL_HOST_REDIRECT", "maybe", "CANONICAL_HOST_REDIRECT must be true or false"),
        ("SUMUP_SANDBOX_STORE", "redis", "SUMUP_SANDBOX_STORE must be database or memory"),
        ("SUMUP_SANDBOX_STORE", "files", "SUMUP_SANDBOX_STORE must be database or memory"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env(tmp_path, **{name: value}))

    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("sumup:\n  sandbox_store: [database]\n", "SUMUP_SANDBOX_STORE must be database or"),
        ("canonical_host_redirect: 2\n", "CANONICAL_HOST_REDIRECT must be true or false"),
    ],
)
def test_a_bad_value_in_the_file_is_refused_too(tmp_path: Path, written: str, message: str) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(written)

    with pytest.raises(ConfigError, match=message):
        load_settings(_env(tmp_path), config_file=config)


@pytest.mark.parametrize(
    ("app_url", "host", "is_it"),
    [
        ("http://127.0.0.1:8002", "127.0.0.1:8002", True),
        ("http://127.0.0.1:8002", "localhost:8002", False),
        ("http://127.0.0.1:8002", "[::1]:8002", False),
        ("http://127.0.0.1:8002", "127.0.0.1:8003", False),
        ("http://127.0.0.1:8002", "127.0.0.1.:8002", False),
        # No port: taken as the URL's own (a TLS proxy not trusted hides the scheme).
        ("http://127.0.0.1:8002", "127.0.0.1", True),
        ("https://cart.coop.example", "CART.coop.example", True),
        ("https://cart.coop.example", "cart.coop.example:443", True),
        ("https://cart.coop.example", "cart.coop.example:80", False),
        ("https://cart.coop.example", "www.cart.coop.example", False),
        ("http://[::1]:8002", "[::1]:8002", True),
        ("http://[::1]:8002", "[::1]:99999", False),
    ],
)
def test_which_hosts_name_app_url_carts_host_and_port(app_url: str, host: str, is_it: bool) -> None:
    assert CanonicalHost.of(app_url).is_this(host) is is_it
