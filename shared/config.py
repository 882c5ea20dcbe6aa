"""Settings: config/app-config.yaml, then environment overrides.

The embedded default needs nothing set: SQLite under var/, no Redis, a secret generated once
and kept under var/. Production mode refuses to start without a secret and a database URL.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = PROJECT_ROOT / "config" / "app-config.yaml"
SERVICE_NAMES = ("blog", "market", "cart", "events", "federation")


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message is one line an operator can act on."""


@dataclass(frozen=True)
class Settings:
    mode: str = "development"
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    app_urls: dict[str, str] = field(default_factory=dict)
    session_cookie_name: str = "coop_session"
    session_cookie_domain: str | None = None
    session_cookie_secure: bool = False
    trusted_proxy_hops: int = 0
    locale: str = "en_GB"
    max_quantity: int = 99
    var_dir: Path = PROJECT_ROOT / "var"

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def sibling_origins(self) -> frozenset[str]:
        """Origins of the five services; forms posted from these are accepted."""
        return frozenset(_origin(url) for url in self.app_urls.values())

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(env: dict[str, str] | None = None, config_file: Path = CONFIG_FILE) -> Settings:
    """Read the YAML file, apply environment overrides, check what production needs."""
    env = dict(os.environ if env is None else env)
    raw: dict[str, Any] = yaml.safe_load(config_file.read_text()) or {}
    session = raw.get("session") or {}
    var_dir = Path(env.get("CART_VAR_DIR") or PROJECT_ROOT / "var")

    app_urls = {name: str(url).rstrip("/") for name, url in (raw.get("app_urls") or {}).items()}
    for name in SERVICE_NAMES:
        if env.get(f"APP_URL_{name.upper()}"):
            app_urls[name] = env[f"APP_URL_{name.upper()}"].rstrip("/")

    mode = env.get("APP_MODE") or raw.get("mode") or "development"
    if mode not in {"development", "production"}:
        raise ConfigError(f"APP_MODE must be 'development' or 'production', not {mode!r}")
    production = mode == "production"

    database_url = env.get("DATABASE_URL_ASYNC") or raw.get("database_url")
    secret_key = env.get("SECRET_KEY") or raw.get("secret_key")
    if production and not secret_key:
        raise ConfigError(
            "SECRET_KEY is not set: production mode needs the secret shared by all services"
        )
    if production and not database_url:
        raise ConfigError(
            "DATABASE_URL_ASYNC is not set: production mode needs the shared PostgreSQL"
        )

    try:
        max_quantity = int(
            env.get("CART_MAX_QUANTITY") or (raw.get("cart") or {}).get("max_quantity", 99)
        )
        proxy_hops = int(env.get("TRUSTED_PROXY_HOPS") or raw.get("trusted_proxy_hops") or 0)
    except ValueError as exc:
        raise ConfigError(
            f"CART_MAX_QUANTITY and TRUSTED_PROXY_HOPS are whole numbers: {exc}"
        ) from None
    if max_quantity < 1:
        raise ConfigError("CART_MAX_QUANTITY must be at least 1")

    cookie_secure = env.get("SESSION_COOKIE_SECURE")
    return Settings(
        mode=mode,
        database_url=database_url or f"sqlite+aiosqlite:///{var_dir / 'cart.sqlite3'}",
        redis_url=env.get("REDIS_URL") or raw.get("redis_url") or None,
        secret_key=secret_key or _development_secret(var_dir),
        app_urls=app_urls,
        session_cookie_name=env.get("SESSION_COOKIE_NAME")
        or session.get("cookie_name")
        or "coop_session",
        session_cookie_domain=env.get("SESSION_COOKIE_DOMAIN")
        or session.get("cookie_domain")
        or None,
        session_cookie_secure=production
        or (
            _bool(cookie_secure)
            if cookie_secure is not None
            else bool(session.get("cookie_secure"))
        ),
        trusted_proxy_hops=proxy_hops,
        locale=env.get("LOCALE") or raw.get("locale") or "en_GB",
        max_quantity=max_quantity,
        var_dir=var_dir,
    )


def _development_secret(var_dir: Path) -> str:
    """A secret made once per checkout and kept, so sessions survive a restart."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created with owner-only permissions: the secret signs every session cookie.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
