"""Every setting is checked at start-up: a bad one is a ConfigError whose one line names the
setting (and never repeats a secret), before anything is served (issue 8, finding 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import ConfigError, load_settings

POSTGRES = "postgresql+asyncpg://cart:hunter2-db-password@db.internal/coop"


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CART_VAR_DIR": str(tmp_path / "var"), **values}


def _refused(tmp_path: Path, **values: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env(tmp_path, **values))
    message = str(raised.value)
    assert "\n" not in message
    return message


# What the review measured: each of these started, and failed later or never.
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRUSTED_PROXY_HOPS", "-1"),  # started, then 500 on every request
        ("LOCALE", "xx_YY"),  # started, failed at the first price
        ("CART_MAX_QUANTITY", "99999999999"),  # started, failed at the first add
        ("SUMUP_TIMEOUT_SECONDS", "nan"),  # started, failed at the first SumUp call
        ("APP_URL_CART", "cart.coop.example"),  # no scheme: accepted silently
        ("SECRET_KEY", "x"),  # one character: accepted silently
    ],
)
def test_each_measured_bad_setting_stops_start_up_naming_it(
    tmp_path: Path, name: str, value: str
) -> None:
    message = _refused(tmp_path, APP_MODE="development", **{name: value})
    assert message.startswith(name)


def test_a_missing_secrets_file_stops_start_up(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "sumup.yaml"
    message = _refused(tmp_path, APP_MODE="development", SUMUP_SECRETS_FILE=str(missing))
    assert str(missing) in message and "cannot be read" in message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+asyncpg://cart:hunter2-db-password@db.internal:abc/coop", "not a database"),
        ("not a url at all", "not a database URL"),
        ("mysql://cart:hunter2-db-password@db.internal/coop", "'mysql'"),
        ("postgresql://cart:hunter2-db-password@db.internal/coop", "'postgresql'"),
        ("postgresql+asyncpg://cart:hunter2-db-password@db.internal:70000/coop", "port"),
        ("sqlite+aiosqlite://", "SQLite file"),
    ],
)
def test_a_malformed_database_url_is_one_line_without_the_password(
    tmp_path: Path, url: str, says: str
) -> None:
    message = _refused(tmp_path, APP_MODE="production", SECRET_KEY="s" * 40, DATABASE_URL_ASYNC=url)
    assert message.startswith("DATABASE_URL_ASYNC") and says in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_URL_CART", "ftp://cart.coop.example"),
        ("APP_URL_CART", "https://"),
        ("APP_URL_MARKET", "https://market.coop.example/?x=1"),
        ("APP_URL_BLOG", "https://user:pw@coop.example"),
        ("APP_URL_EVENTS", "https://events.coop.example:99999"),
        ("APP_URL_EVENTS", "https://events.coop.example/a b"),
        ("REDIS_URL", "http://cache.internal:6379/0"),
        ("REDIS_URL", "redis://"),
        ("REDIS_URL", "redis://cache.internal:6379/zero"),
        ("TRUSTED_PROXY_HOPS", "6"),
        ("TRUSTED_PROXY_HOPS", "one"),
        ("TRUSTED_PROXY_HOPS", "1.5"),
        ("CART_MAX_QUANTITY", "0"),
        ("CART_MAX_QUANTITY", "10001"),
        ("DATABASE_POOL_SIZE", "0"),
        ("DATABASE_POOL_SIZE", "101"),
        ("DATABASE_POOL_SIZE", "many"),
        ("ORDER_EXPIRE_AFTER_MINUTES", "0"),
        ("ORDER_EXPIRE_AFTER_MINUTES", "1441"),
        ("ORDER_RECONCILE_AFTER_MINUTES", "-5"),
        ("EVENTS_STREAM_MAXLEN", "0"),
        ("EVENTS_STREAM", "coop events"),
        ("SUMUP_TIMEOUT_SECONDS", "inf"),
        ("SUMUP_TIMEOUT_SECONDS", "0"),
        ("SUMUP_TIMEOUT_SECONDS", "121"),
        ("SUMUP_TIMEOUT_SECONDS", "ten"),
        ("LOCALE", "en-GB"),
        ("SUMUP_CURRENCY", "XYZ"),
        ("SUMUP_CURRENCY", "gbp"),
        ("SUMUP_CURRENCY", "POUNDS"),
        ("SUMUP_MERCHANT_CODE", "M SANDBOX"),
        ("SUMUP_MERCHANT_CODE", "M" * 33),
        ("SUMUP_CHECKOUT_PREFIX", "c" * 21),  # with the ref and attempt: over SumUp's 64
        ("SUMUP_CHECKOUT_PREFIX", "coop-shop"),
        ("SUMUP_API_BASE", "api.sumup.com"),
        ("SUMUP_API_KEY_REF", "SECRET_KEY"),
        ("SUMUP_API_KEY_REF", "DATABASE_URL_ASYNC"),
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("SESSION_COOKIE_NAME", "coop session"),
        ("SESSION_COOKIE_DOMAIN", "coop..example"),
        ("BACKGROUND_JOBS", "tru"),
        ("APP_MODE", "staging"),
    ],
)
def test_a_bad_setting_is_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    extra = {} if name == "APP_MODE" else {"APP_MODE": "development"}
    message = _refused(tmp_path, **extra, **{name: value})
    assert message.startswith(name), message


def test_production_takes_only_an_https_sumup_api(tmp_path: Path) -> None:
    message = _refused(
        tmp_path,
        APP_MODE="production",
        SECRET_KEY="s" * 40,
        DATABASE_URL_ASYNC=POSTGRES,
        SUMUP_API_BASE="http://api.sumup.example",
    )
    assert message.startswith("SUMUP_API_BASE") and "https" in message


def test_a_short_secret_key_is_refused_without_repeating_it(tmp_path: Path) -> None:
    short = "short-but-secret-value"
    message = _refused(
        tmp_path, APP_MODE="production", SECRET_KEY=short, DATABASE_URL_ASYNC=POSTGRES
    )
    assert "at least 32 characters" in message and short not in message


@pytest.mark.parametrize("content", ["- just\n- a list\n", "key: [unclosed\n"])
def test_a_secrets_file_that_is_not_a_mapping_stops_start_up(tmp_path: Path, content: str) -> None:
    secrets_file = tmp_path / "sumup.yaml"
    secrets_file.write_text(content)
    message = _refused(tmp_path, APP_MODE="development", SUMUP_SECRETS_FILE=str(secrets_file))
    assert str(secrets_file) in message and "unclosed" not in message


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("database_url: 42\n", "DATABASE_URL_ASYNC"),
        ("cart: 5\n", "cart"),
        ("cart:\n  max_quantity: true\n", "CART_MAX_QUANTITY"),
        ("trusted_proxy_hops: -2\n", "TRUSTED_PROXY_HOPS"),
        ("mode: [development]\n", "APP_MODE"),
        ("app_urls:\n  cart: cart.coop.example\n", "APP_URL_CART"),
        ("sumup: [1, 2]\n", "sumup"),
        ("- not\n- a mapping\n", "the settings file"),
        ("mode: development\n  bad: [\n", "not valid YAML"),
    ],
)
def test_a_bad_value_in_the_config_file_is_refused_by_name(
    tmp_path: Path, content: str, names: str
) -> None:
    config_file = tmp_path / "app-config.yaml"
    config_file.write_text(content)
    with pytest.raises(ConfigError, match=names) as raised:
        load_settings(_env(tmp_path), config_file=config_file)
    assert "\n" not in str(raised.value)


def test_the_largest_and_smallest_sane_values_are_accepted(tmp_path: Path) -> None:
    secrets_file = tmp_path / "sumup.yaml"
    secrets_file.write_text("bakery-key: sup_sk_from_the_file\n")
    settings = load_settings(
        _env(
            tmp_path,
            APP_MODE="development",
            CART_MAX_QUANTITY="10000",
            DATABASE_POOL_SIZE="100",
            TRUSTED_PROXY_HOPS="5",
            ORDER_EXPIRE_AFTER_MINUTES="1440",
            ORDER_RECONCILE_AFTER_MINUTES="1",
            SUMUP_TIMEOUT_SECONDS="0.5",
            SUMUP_CURRENCY="JPY",
            SUMUP_CHECKOUT_PREFIX="c" * 20,
            SUMUP_SECRETS_FILE=str(secrets_file),
            SUMUP_API_KEY_REF="bakery-key",  # a key of the secrets file
            LOCALE="de",
            REDIS_URL="unix:///run/redis/redis.sock",
            SESSION_COOKIE_SECURE="off",
            APP_URL_CART="https://coop.example/cart/",
        )
    )
    assert settings.max_quantity == 10_000 and settings.trusted_proxy_hops == 5
    assert settings.database_pool_size == 100
    assert settings.order_expire_after_minutes == 1440
    assert settings.sumup.timeout_seconds == 0.5 and settings.sumup.currency == "JPY"
    assert (
        settings.sumup.api_key_ref == "bakery-key" and settings.sumup.secrets_file == secrets_file
    )
    assert settings.app_urls["cart"] == "https://coop.example/cart"
    assert settings.session_cookie_secure is False


def test_a_var_dir_that_cannot_hold_the_secret_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="CART_VAR_DIR") as raised:
        load_settings({"CART_VAR_DIR": str(blocker / "var")})
    assert "\n" not in str(raised.value)
