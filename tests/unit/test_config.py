"""Settings: the YAML file, environment overrides, and what production mode refuses."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import (
    PROJECT_ROOT,
    SETTING_ENV_PREFIXES,
    ConfigError,
    load_settings,
    without_settings,
)

PRODUCTION_DB = "postgresql+asyncpg://cart@db.internal/coop"


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CART_VAR_DIR": str(tmp_path / "var"), **values}


def test_embedded_default_needs_nothing_set(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path))

    assert settings.mode == "development" and not settings.production
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'cart.sqlite3'}"
    assert settings.redis_url is None
    assert settings.session_cookie_secure is False
    assert settings.max_quantity == 99
    assert settings.app_urls["market"] == "http://127.0.0.1:8001"


def test_generated_secret_is_kept_owner_only_and_reused(tmp_path: Path) -> None:
    first = load_settings(_env(tmp_path)).secret_key
    second = load_settings(_env(tmp_path)).secret_key

    assert len(first) >= 32 and first == second
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_environment_overrides_every_documented_setting(tmp_path: Path) -> None:
    settings = load_settings(
        _env(
            tmp_path,
            APP_MODE="development",
            DATABASE_URL_ASYNC=PRODUCTION_DB,
            REDIS_URL="redis://cache.internal:6379/2",
            SECRET_KEY="s" * 40,
            APP_URL_MARKET="https://market.coop.example/",
            APP_URL_EVENTS="https://events.coop.example",
            SESSION_COOKIE_NAME="coop",
            SESSION_COOKIE_DOMAIN=".coop.example",
            SESSION_COOKIE_SECURE="true",
            TRUSTED_PROXY_HOPS="2",
            CART_MAX_QUANTITY="12",
            LOCALE="de_DE",
        )
    )

    assert settings.database_url == PRODUCTION_DB
    assert settings.redis_url == "redis://cache.internal:6379/2"
    assert settings.secret_key == "s" * 40
    assert settings.app_urls["market"] == "https://market.coop.example"
    assert settings.app_urls["blog"] == "http://127.0.0.1:8000"  # untouched: from the file
    assert settings.session_cookie_name == "coop"
    assert settings.session_cookie_domain == ".coop.example"
    assert settings.session_cookie_secure is True
    assert settings.trusted_proxy_hops == 2
    assert settings.max_quantity == 12
    assert settings.locale == "de_DE"
    assert "https://events.coop.example" in settings.sibling_origins
    assert "https://market.coop.example" in settings.sibling_origins


def test_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    config_file = tmp_path / "app-config.yaml"
    config_file.write_text(
        "database_url: sqlite+aiosqlite:////srv/from-file.sqlite3\ncart:\n  max_quantity: 5\n"
    )

    from_file = load_settings(_env(tmp_path), config_file=config_file)
    from_env = load_settings(_env(tmp_path, CART_MAX_QUANTITY="7"), config_file=config_file)

    assert from_file.database_url == "sqlite+aiosqlite:////srv/from-file.sqlite3"
    assert from_file.max_quantity == 5
    assert from_env.max_quantity == 7


def test_production_mode_forces_secure_cookies(tmp_path: Path) -> None:
    settings = load_settings(
        _env(
            tmp_path,
            APP_MODE="production",
            SECRET_KEY="s" * 40,
            DATABASE_URL_ASYNC=PRODUCTION_DB,
            SESSION_COOKIE_SECURE="false",
        )
    )
    assert settings.production and settings.session_cookie_secure is True


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL_ASYNC": PRODUCTION_DB}, "SECRET_KEY"),
        ({"SECRET_KEY": "s" * 40}, "DATABASE_URL_ASYNC"),
    ],
)
def test_production_mode_without_a_required_setting_is_one_line_error(
    tmp_path: Path, env: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env(tmp_path, APP_MODE="production", **env))
    message = str(raised.value)
    assert names in message and "\n" not in message
    # Production never falls back to a generated secret under var/.
    assert not (tmp_path / "var" / "secret_key").exists()


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"APP_MODE": "staging"}, "APP_MODE"),
        ({"CART_MAX_QUANTITY": "lots"}, "CART_MAX_QUANTITY"),
        ({"CART_MAX_QUANTITY": "0"}, "CART_MAX_QUANTITY"),
        ({"TRUSTED_PROXY_HOPS": "one"}, "TRUSTED_PROXY_HOPS"),
    ],
)
def test_a_malformed_setting_is_refused_by_name(
    tmp_path: Path, env: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError, match=names):
        load_settings(_env(tmp_path, **env))


def _import_app_in_production(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DATABASE_URL_ASYNC", "REDIS_URL"}
    }
    env.update(APP_MODE="production", CART_VAR_DIR=str(tmp_path / "var"), **extra)
    return subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        ({"DATABASE_URL_ASYNC": PRODUCTION_DB}, "SECRET_KEY"),
        ({"SECRET_KEY": "s" * 40}, "DATABASE_URL_ASYNC"),
        ({}, "SECRET_KEY"),
    ],
)
def test_importing_the_app_in_production_without_settings_exits_with_one_line(
    tmp_path: Path, extra: dict[str, str], missing: str
) -> None:
    result = _import_app_in_production(tmp_path, **extra)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cart: cannot start:") and missing in lines[0]
    assert "Traceback" not in result.stderr


def test_every_setting_variable_is_one_the_harnesses_keep_out_of_their_servers() -> None:
    """The bench and the browser, multiprocess and fault tests start servers with the shell's
    environment minus SETTING_ENV_PREFIXES: a variable the settings read that no prefix
    covers would reach them (SITE_TIME_ZONE, say, and every time the journeys check)."""
    source = (PROJECT_ROOT / "shared" / "config.py").read_text()
    read = set(re.findall(r'(?:src\.get|src\.from_env|env\.get)\(\s*"([A-Z_]+)"', source))
    read |= {f"APP_URL_{name.upper()}" for name in ("blog", "cart")}

    assert {"SITE_TIME_ZONE", "DATABASE_POOL_SIZE", "SUMUP_API_KEY_REF"} <= read
    assert [name for name in sorted(read) if not name.startswith(SETTING_ENV_PREFIXES)] == []
    assert without_settings({"SITE_NAME": "x", "PATH": "/bin", "BASELINE_X": "y"}, "BASELINE_") == {
        "PATH": "/bin"
    }
