"""The mode rule (issue 8, finding 1): development mode is never what a shared deployment gets
by default. With APP_MODE unset (the shipped config file says `mode: null`), development
runs only on the embedded defaults; settings that belong to a shared deployment stop
start-up with one line saying to choose. APP_MODE=development stays possible anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shared.config import CONFIG_FILE, ConfigError, load_settings

POSTGRES = "postgresql+asyncpg://cart@db.internal/coop"
CHOOSE = "set APP_MODE=production (or APP_MODE=development to run the demo on this database)"


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CART_VAR_DIR": str(tmp_path / "var"), **values}


def test_the_shipped_config_file_leaves_the_mode_unset() -> None:
    assert yaml.safe_load(CONFIG_FILE.read_text())["mode"] is None


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"DATABASE_URL_ASYNC": "sqlite+aiosqlite:////tmp/elsewhere/cart.sqlite3"},
        {"SUMUP_API_KEY_REF": "SUMUP_API_KEY_BAKERY"},  # a name, but no key set
        {"CART_MAX_QUANTITY": "12", "LOCALE": "de_DE"},
    ],
)
def test_implicit_development_on_the_embedded_defaults(
    tmp_path: Path, values: dict[str, str]
) -> None:
    settings = load_settings(_env(tmp_path, **values))
    assert settings.mode == "development" and settings.sumup.sandbox


@pytest.mark.parametrize(
    ("values", "named"),
    [
        # What the review started: the shared secret and the shared PostgreSQL, no APP_MODE.
        ({"SECRET_KEY": "s" * 40, "DATABASE_URL_ASYNC": POSTGRES}, "DATABASE_URL_ASYNC"),
        ({"DATABASE_URL_ASYNC": POSTGRES}, "DATABASE_URL_ASYNC"),
        ({"SECRET_KEY": "s" * 40}, "SECRET_KEY"),
        ({"REDIS_URL": "redis://cache.internal:6379/0"}, "REDIS_URL"),
        ({"SUMUP_API_KEY": "sup_sk_live_value"}, "SUMUP_API_KEY"),
        ({"SUMUP_API_BASE": "https://api.sumup.com"}, "SUMUP_API_BASE"),
    ],
)
def test_implicit_development_on_shared_settings_refuses_to_start(
    tmp_path: Path, values: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env(tmp_path, **values))
    message = str(raised.value)
    assert message.startswith("APP_MODE is not set") and named in message
    assert message.endswith(CHOOSE) and "\n" not in message
    assert "sup_sk_live_value" not in message
    # Nothing was made for a development mode that did not start.
    assert not (tmp_path / "var" / "secret_key").exists()


def test_a_secrets_file_is_a_shared_setting_too(tmp_path: Path) -> None:
    secrets_file = tmp_path / "sumup.yaml"
    secrets_file.write_text("SUMUP_API_KEY: sup_sk_live_value\n")
    with pytest.raises(ConfigError, match="SUMUP_SECRETS_FILE"):
        load_settings(_env(tmp_path, SUMUP_SECRETS_FILE=str(secrets_file)))


def test_a_secret_key_in_the_config_file_is_a_shared_setting(tmp_path: Path) -> None:
    config_file = tmp_path / "app-config.yaml"
    config_file.write_text(f"mode: null\nsecret_key: {'f' * 40}\n")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(_env(tmp_path), config_file=config_file)


@pytest.mark.parametrize("source", ["environment", "file"])
def test_development_asked_for_explicitly_runs_on_postgresql(tmp_path: Path, source: str) -> None:
    config_file = tmp_path / "app-config.yaml"
    config_file.write_text("mode: development\n" if source == "file" else "mode: null\n")
    values = {"DATABASE_URL_ASYNC": POSTGRES, "SECRET_KEY": "s" * 40}
    if source == "environment":
        values["APP_MODE"] = "development"

    settings = load_settings(_env(tmp_path, **values), config_file=config_file)

    assert settings.mode == "development" and settings.database_url == POSTGRES


def test_production_asked_for_is_production(tmp_path: Path) -> None:
    settings = load_settings(
        _env(tmp_path, APP_MODE="production", SECRET_KEY="s" * 40, DATABASE_URL_ASYNC=POSTGRES)
    )
    assert settings.production and not settings.sumup.sandbox
