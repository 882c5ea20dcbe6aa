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


SUMUP_PRODUCTION_API = "https://api.sumup.com"
SANDBOX_PATH = "/sumup-sandbox"


@dataclass(frozen=True)
class SumUpSettings:
    """The site's SumUp account; a page's PageConfig may override each of these but the base."""

    api_base: str = ""
    sandbox: bool = True  # the app serves SumUp's API itself at SANDBOX_PATH
    merchant_code: str = "MSANDBOX1"
    currency: str = "GBP"
    api_key_ref: str = "SUMUP_API_KEY"
    secrets_file: Path | None = None
    checkout_reference_prefix: str = "coop"
    timeout_seconds: float = 10.0


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
    # Places one shopper may hold through unpaid orders: of one slot, and unpaid orders in
    # all (bp/cart/services/checkout.py). CART_MAX_PLACES_PER_SLOT, CART_MAX_UNPAID_ORDERS.
    max_places_per_slot: int = 4
    max_unpaid_orders: int = 3
    var_dir: Path = PROJECT_ROOT / "var"
    sumup: SumUpSettings = field(default_factory=SumUpSettings)
    order_expire_after_minutes: int = 30
    order_reconcile_after_minutes: int = 5
    background_jobs: bool = True
    # The one Redis stream other services read domain events from, and roughly how many
    # entries it keeps (XADD MAXLEN ~): readers that fall further behind lose the oldest.
    events_stream: str = "coop:events"
    events_stream_maxlen: int = 100_000

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
        expire_minutes = int(
            env.get("ORDER_EXPIRE_AFTER_MINUTES")
            or (raw.get("orders") or {}).get("expire_after_minutes", 30)
        )
        reconcile_minutes = int(
            env.get("ORDER_RECONCILE_AFTER_MINUTES")
            or (raw.get("orders") or {}).get("reconcile_after_minutes", 5)
        )
        stream_maxlen = int(
            env.get("EVENTS_STREAM_MAXLEN")
            or (raw.get("events") or {}).get("stream_maxlen", 100_000)
        )
    except ValueError as exc:
        raise ConfigError(
            "CART_MAX_QUANTITY, TRUSTED_PROXY_HOPS, ORDER_EXPIRE_AFTER_MINUTES, "
            f"ORDER_RECONCILE_AFTER_MINUTES and EVENTS_STREAM_MAXLEN are whole numbers: {exc}"
        ) from None
    if stream_maxlen < 1:
        raise ConfigError("EVENTS_STREAM_MAXLEN must be at least 1")
    if max_quantity < 1:
        raise ConfigError("CART_MAX_QUANTITY must be at least 1")
    if expire_minutes < 1 or reconcile_minutes < 1:
        raise ConfigError(
            "ORDER_EXPIRE_AFTER_MINUTES and ORDER_RECONCILE_AFTER_MINUTES must be at least 1"
        )
    max_places_per_slot = _holding_limit(
        env, raw, "CART_MAX_PLACES_PER_SLOT", "max_places_per_slot", 4, MAX_PLACES_PER_SLOT
    )
    max_unpaid_orders = _holding_limit(
        env, raw, "CART_MAX_UNPAID_ORDERS", "max_unpaid_orders", 3, MAX_UNPAID_ORDERS
    )
    background = env.get("BACKGROUND_JOBS")

    sumup = _sumup_settings(env, raw.get("sumup") or {}, production=production)
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
        max_places_per_slot=max_places_per_slot,
        max_unpaid_orders=max_unpaid_orders,
        var_dir=var_dir,
        sumup=sumup,
        order_expire_after_minutes=expire_minutes,
        order_reconcile_after_minutes=reconcile_minutes,
        background_jobs=_bool(background)
        if background is not None
        else bool(raw.get("background_jobs", True)),
        events_stream=env.get("EVENTS_STREAM")
        or (raw.get("events") or {}).get("stream")
        or "coop:events",
        events_stream_maxlen=stream_maxlen,
    )


# The largest holding limits accepted: beyond them a limit bounds nothing.
MAX_PLACES_PER_SLOT = 1000
MAX_UNPAID_ORDERS = 100


def _holding_limit(
    env: dict[str, str], raw: dict[str, Any], name: str, key: str, default: int, upper: int
) -> int:
    """CART_MAX_PLACES_PER_SLOT or CART_MAX_UNPAID_ORDERS: a whole number from 1 to `upper`."""
    value = env.get(name) or (raw.get("cart") or {}).get(key, default)
    text = str(value).strip()
    digits = not isinstance(value, bool) and text.isascii() and text.isdigit()
    if not digits or not 1 <= int(text) <= upper:
        raise ConfigError(f"{name} must be a whole number from 1 to {upper}, not {value!r}")
    return int(text)


def _sumup_settings(env: dict[str, str], raw: dict[str, Any], *, production: bool) -> SumUpSettings:
    api_key_ref = env.get("SUMUP_API_KEY_REF") or raw.get("api_key_ref") or "SUMUP_API_KEY"
    secrets_file = env.get("SUMUP_SECRETS_FILE") or raw.get("secrets_file")
    api_base = env.get("SUMUP_API_BASE") or raw.get("api_base")
    has_key = bool(env.get(api_key_ref)) or bool(secrets_file)
    # The sandbox only ever stands in for SumUp when nothing real is configured, and never
    # in production, where a missing key is an error at the first checkout, not a fake.
    sandbox = not production and not api_base and not has_key
    try:
        timeout = float(env.get("SUMUP_TIMEOUT_SECONDS") or raw.get("timeout_seconds") or 10)
    except ValueError:
        raise ConfigError("SUMUP_TIMEOUT_SECONDS must be a number of seconds") from None
    return SumUpSettings(
        api_base=(api_base or ("" if sandbox else SUMUP_PRODUCTION_API)).rstrip("/"),
        sandbox=sandbox,
        merchant_code=env.get("SUMUP_MERCHANT_CODE") or raw.get("merchant_code") or "",
        currency=env.get("SUMUP_CURRENCY") or raw.get("currency") or "GBP",
        api_key_ref=api_key_ref,
        secrets_file=Path(secrets_file) if secrets_file else None,
        checkout_reference_prefix=env.get("SUMUP_CHECKOUT_PREFIX")
        or raw.get("checkout_reference_prefix")
        or "coop",
        timeout_seconds=timeout,
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
