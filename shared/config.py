"""Settings: config/app-config.yaml, then environment overrides, each checked at start-up.

The embedded default needs nothing set: SQLite under var/, no Redis, a secret generated once
and kept under var/. Production mode refuses to start without a secret and a database URL.

The mode. `APP_MODE` (or `mode:` in the file) says it; left unset, the service runs the
development demo only on the embedded defaults, and refuses to start when anything looks
like a shared deployment (see `_implicit_mode`). Every setting is checked here
(shared/config_checks.py): a bad one is a ConfigError, one line naming it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from shared import config_checks as check
from shared.config_checks import ConfigError as ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = PROJECT_ROOT / "config" / "app-config.yaml"
SERVICE_NAMES = ("blog", "market", "cart", "events", "federation")
MODES = ("development", "production")

SUMUP_PRODUCTION_API = "https://api.sumup.com"
SANDBOX_PATH = "/sumup-sandbox"
SANDBOX_STORES = ("database", "memory")

# Every environment variable that sets something here begins with one of these (AUDIT_LOG is
# the operator commands'). A harness that starts a server of its own (the bench, the browser,
# multiprocess and fault tests) drops them from the environment it hands on, so that the
# developer's shell cannot make it another server than the one it means: a real SumUp key
# would turn the sandbox off, a SITE_TIME_ZONE change every time shown.
SETTING_ENV_PREFIXES = (
    "APP_",
    "AUDIT_LOG",
    "BACKGROUND_JOBS",
    "CANONICAL_HOST",
    "CART_",
    "DATABASE_",
    "EVENTS_",
    "LOCALE",
    "ORDER_",
    "REDIS_URL",
    "SECRET_KEY",
    "SESSION_COOKIE_",
    "SITE_",
    "SUMUP_",
    "TRUSTED_PROXY_HOPS",
)


def without_settings(environ: Mapping[str, str], *also: str) -> dict[str, str]:
    """`environ` without the service's settings (SETTING_ENV_PREFIXES), nor any variable
    beginning with one of `also`."""
    dropped = SETTING_ENV_PREFIXES + also
    return {name: value for name, value in environ.items() if not name.startswith(dropped)}


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
    # Where the sandbox keeps its checkouts (SUMUP_SANDBOX_STORE): "database", tables of its
    # own that every process sees (sumup/sandbox_db.py), or "memory", this process's only.
    sandbox_store: str = "database"


@dataclass(frozen=True)
class SiteSettings:
    """Who runs the shop, as every page's header and footer say it, and its clock."""

    name: str = "The Co-op"  # SITE_NAME
    contact_email: str = ""  # SITE_CONTACT_EMAIL; "" = no contact line in the footer
    terms_url: str = ""  # SITE_TERMS_URL; "" = no terms link in the footer
    # Production: the blog signs shoppers in and out; the header links there. "" = the blog's
    # /auth/login/ and /auth/logout/ (SITE_SIGN_IN_URL, SITE_SIGN_OUT_URL). The embedded
    # default uses its demo sign-in instead.
    sign_in_url: str = ""
    sign_out_url: str = ""
    # Every date and time a shopper reads is in this zone (stored times are UTC).
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))


@dataclass(frozen=True)
class Settings:
    mode: str = "development"
    database_url: str = ""
    # Connections each worker process keeps open to PostgreSQL (DATABASE_POOL_SIZE). Kept, not
    # opened per request: a request beyond them waits for one to come back rather than
    # opening a connection it would close again. Workers x this must fit the server's
    # max_connections beside the other four services.
    database_pool_size: int = 15
    redis_url: str | None = None
    secret_key: str = ""
    app_urls: dict[str, str] = field(default_factory=dict)
    session_cookie_name: str = "coop_session"
    session_cookie_domain: str | None = None
    session_cookie_secure: bool = False
    trusted_proxy_hops: int = 0
    # Development: a request for another host name than APP_URL_CART's is sent there (GET,
    # HEAD) or refused (shared/canonical_host.py). CANONICAL_HOST_REDIRECT.
    canonical_host_redirect: bool = True
    locale: str = "en_GB"
    max_quantity: int = 99
    # Places one shopper may hold through unpaid orders: of one slot, and unpaid orders in
    # all (bp/cart/services/checkout.py). CART_MAX_PLACES_PER_SLOT, CART_MAX_UNPAID_ORDERS.
    max_places_per_slot: int = 4
    max_unpaid_orders: int = 3
    var_dir: Path = PROJECT_ROOT / "var"
    sumup: SumUpSettings = field(default_factory=SumUpSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
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


# The largest values that make sense; anything beyond is a typo, refused at start-up.
MAX_QUANTITY_LIMIT = 10_000
MAX_PROXY_HOPS = 5
MAX_MINUTES = 24 * 60
MAX_STREAM_LENGTH = 100_000_000
MAX_SUMUP_TIMEOUT_SECONDS = 120.0
MAX_PLACES_PER_SLOT = 1000
MAX_UNPAID_ORDERS = 100
MAX_DATABASE_POOL_SIZE = 100


@dataclass(frozen=True)
class _Source:
    """Where a setting comes from: its environment variable when set (not empty), else
    its key in the file."""

    env: Mapping[str, str]
    raw: Mapping[str, Any]
    config_file: Path

    def get(self, name: str, *path: str, default: Any = None) -> Any:
        if self.env.get(name):
            return self.env[name]
        node: Any = self.raw
        for depth, key in enumerate(path):
            where = f"{self.config_file.name}: {'.'.join(path[:depth]) or 'the file'}"
            node = check.mapping(where, node).get(key)
            if node is None:
                return default
        return node

    def from_env(self, name: str) -> bool:
        return bool(self.env.get(name))


def _read_config_file(config_file: Path) -> Mapping[str, Any]:
    try:
        raw = yaml.safe_load(config_file.read_text())
    except OSError as exc:
        raise ConfigError(
            f"the settings file {config_file} cannot be read: {exc.strerror}"
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ConfigError(f"the settings file {config_file} is not valid YAML") from None
    return check.mapping(f"the settings file {config_file}", raw)


def load_settings(
    env: Mapping[str, str] | None = None, config_file: Path = CONFIG_FILE
) -> Settings:
    """Read the YAML file, apply environment overrides, check every setting and the mode."""
    env = dict(os.environ if env is None else env)
    src = _Source(env, _read_config_file(config_file), config_file)
    var_dir = Path(env.get("CART_VAR_DIR") or PROJECT_ROOT / "var")

    app_urls = {
        str(name): check.web_url(f"APP_URL_{str(name).upper()}", url)
        for name, url in check.mapping(
            f"{config_file.name}: app_urls", src.raw.get("app_urls")
        ).items()
    }
    for name in SERVICE_NAMES:
        variable = f"APP_URL_{name.upper()}"
        if env.get(variable):
            app_urls[name] = check.web_url(variable, env[variable])

    database_url = src.get("DATABASE_URL_ASYNC", "database_url")
    if database_url is not None:
        database_url = check.database_url("DATABASE_URL_ASYNC", database_url)
    secret_key = src.get("SECRET_KEY", "secret_key")
    if secret_key is not None:
        secret_key = check.secret_key(secret_key)
    redis_url = src.get("REDIS_URL", "redis_url")
    if redis_url is not None:
        redis_url = check.redis_url("REDIS_URL", redis_url)

    mode = _mode(src, database_url=database_url, secret_key=secret_key, redis_url=redis_url)
    production = mode == "production"
    if production and not secret_key:
        raise ConfigError(
            "SECRET_KEY is not set: production mode needs the secret shared by all services"
        )
    if production and not database_url:
        raise ConfigError(
            "DATABASE_URL_ASYNC is not set: production mode needs the shared PostgreSQL"
        )

    cookie_domain = src.get("SESSION_COOKIE_DOMAIN", "session", "cookie_domain")
    cookie_secure = check.flag(
        "SESSION_COOKIE_SECURE",
        src.get("SESSION_COOKIE_SECURE", "session", "cookie_secure", default=False),
    )
    return Settings(
        mode=mode,
        database_url=database_url or f"sqlite+aiosqlite:///{var_dir / 'cart.sqlite3'}",
        database_pool_size=check.whole_number(
            "DATABASE_POOL_SIZE",
            src.get("DATABASE_POOL_SIZE", "database_pool_size", default=15),
            low=1,
            high=MAX_DATABASE_POOL_SIZE,
        ),
        redis_url=redis_url,
        secret_key=secret_key or _development_secret(var_dir),
        app_urls=app_urls,
        session_cookie_name=check.cookie_name(
            "SESSION_COOKIE_NAME",
            src.get("SESSION_COOKIE_NAME", "session", "cookie_name", default="coop_session"),
        ),
        session_cookie_domain=check.cookie_domain("SESSION_COOKIE_DOMAIN", cookie_domain)
        if cookie_domain is not None
        else None,
        session_cookie_secure=production or cookie_secure,
        trusted_proxy_hops=check.whole_number(
            "TRUSTED_PROXY_HOPS",
            src.get("TRUSTED_PROXY_HOPS", "trusted_proxy_hops", default=0),
            low=0,
            high=MAX_PROXY_HOPS,
        ),
        canonical_host_redirect=check.flag(
            "CANONICAL_HOST_REDIRECT",
            src.get("CANONICAL_HOST_REDIRECT", "canonical_host_redirect", default=True),
        ),
        locale=check.locale("LOCALE", src.get("LOCALE", "locale", default="en_GB")),
        max_quantity=check.whole_number(
            "CART_MAX_QUANTITY",
            src.get("CART_MAX_QUANTITY", "cart", "max_quantity", default=99),
            low=1,
            high=MAX_QUANTITY_LIMIT,
        ),
        max_places_per_slot=check.whole_number(
            "CART_MAX_PLACES_PER_SLOT",
            src.get("CART_MAX_PLACES_PER_SLOT", "cart", "max_places_per_slot", default=4),
            low=1,
            high=MAX_PLACES_PER_SLOT,
        ),
        max_unpaid_orders=check.whole_number(
            "CART_MAX_UNPAID_ORDERS",
            src.get("CART_MAX_UNPAID_ORDERS", "cart", "max_unpaid_orders", default=3),
            low=1,
            high=MAX_UNPAID_ORDERS,
        ),
        var_dir=var_dir,
        sumup=_sumup_settings(src, production=production),
        site=_site_settings(src, app_urls),
        order_expire_after_minutes=check.whole_number(
            "ORDER_EXPIRE_AFTER_MINUTES",
            src.get("ORDER_EXPIRE_AFTER_MINUTES", "orders", "expire_after_minutes", default=30),
            low=1,
            high=MAX_MINUTES,
        ),
        order_reconcile_after_minutes=check.whole_number(
            "ORDER_RECONCILE_AFTER_MINUTES",
            src.get(
                "ORDER_RECONCILE_AFTER_MINUTES", "orders", "reconcile_after_minutes", default=5
            ),
            low=1,
            high=MAX_MINUTES,
        ),
        background_jobs=check.flag(
            "BACKGROUND_JOBS", src.get("BACKGROUND_JOBS", "background_jobs", default=True)
        ),
        events_stream=check.stream_name(
            "EVENTS_STREAM", src.get("EVENTS_STREAM", "events", "stream", default="coop:events")
        ),
        events_stream_maxlen=check.whole_number(
            "EVENTS_STREAM_MAXLEN",
            src.get("EVENTS_STREAM_MAXLEN", "events", "stream_maxlen", default=100_000),
            low=1,
            high=MAX_STREAM_LENGTH,
        ),
    )


IMPLICIT_MODE_REFUSED = (
    "APP_MODE is not set, but these settings are a shared deployment's: {reasons}; "
    "set APP_MODE=production (or APP_MODE=development to run the demo on this database)"
)


def _mode(
    src: _Source, *, database_url: str | None, secret_key: str | None, redis_url: str | None
) -> str:
    """The mode asked for; or, when none is, development on the embedded defaults only."""
    asked = src.get("APP_MODE", "mode")
    if asked is not None:
        if asked not in MODES:
            raise ConfigError(
                f"APP_MODE must be 'development' or 'production', not {check.shown(asked)}"
            )
        return str(asked)
    reasons = _implicit_mode_refusals(
        src, database_url=database_url, secret_key=secret_key, redis_url=redis_url
    )
    if reasons:
        raise ConfigError(IMPLICIT_MODE_REFUSED.format(reasons=", ".join(reasons)))
    return "development"


def _implicit_mode_refusals(
    src: _Source, *, database_url: str | None, secret_key: str | None, redis_url: str | None
) -> list[str]:
    """The settings that say "shared deployment": development mode then serves the demo
    sign-in and the SumUp sandbox to whoever reaches it, so it has to be asked for."""
    reasons = []
    if database_url is not None and not check.is_sqlite_url(database_url):
        reasons.append("DATABASE_URL_ASYNC (not SQLite)")
    if secret_key is not None:
        reasons.append("SECRET_KEY")
    if redis_url is not None:
        reasons.append("REDIS_URL")
    key_ref = src.get("SUMUP_API_KEY_REF", "sumup", "api_key_ref", default="SUMUP_API_KEY")
    if isinstance(key_ref, str) and check.is_environment_key_ref(key_ref) and src.from_env(key_ref):
        reasons.append(key_ref)
    for name, key in (("SUMUP_SECRETS_FILE", "secrets_file"), ("SUMUP_API_BASE", "api_base")):
        if src.get(name, "sumup", key) is not None:
            reasons.append(name)
    return reasons


def _sumup_settings(src: _Source, *, production: bool) -> SumUpSettings:
    secrets_file: Path | None = None
    raw_secrets_file = src.get("SUMUP_SECRETS_FILE", "sumup", "secrets_file")
    if raw_secrets_file is not None:
        secrets_file = Path(check.text("SUMUP_SECRETS_FILE", raw_secrets_file))
        check.read_secrets_file(secrets_file)  # exists, readable, a mapping
    api_key_ref = check.check_api_key_ref(
        "SUMUP_API_KEY_REF",
        src.get("SUMUP_API_KEY_REF", "sumup", "api_key_ref", default="SUMUP_API_KEY"),
        secrets_file=secrets_file,
    )
    api_base = src.get("SUMUP_API_BASE", "sumup", "api_base")
    if api_base is not None:
        api_base = check.web_url("SUMUP_API_BASE", api_base)
        if production and not api_base.startswith("https://"):
            raise ConfigError("SUMUP_API_BASE must be an https:// URL in production mode")
    has_key = src.from_env(api_key_ref) or secrets_file is not None
    # The sandbox only ever stands in for SumUp when nothing real is configured, and never
    # in production, where a missing key is an error at the first checkout, not a fake.
    sandbox = not production and not api_base and not has_key
    return SumUpSettings(
        api_base=api_base or ("" if sandbox else SUMUP_PRODUCTION_API),
        sandbox=sandbox,
        merchant_code=check.merchant_code(
            "SUMUP_MERCHANT_CODE",
            src.get("SUMUP_MERCHANT_CODE", "sumup", "merchant_code", default="MSANDBOX1"),
        ),
        currency=check.currency(
            "SUMUP_CURRENCY", src.get("SUMUP_CURRENCY", "sumup", "currency", default="GBP")
        ),
        api_key_ref=api_key_ref,
        secrets_file=secrets_file,
        checkout_reference_prefix=check.checkout_prefix(
            "SUMUP_CHECKOUT_PREFIX",
            src.get("SUMUP_CHECKOUT_PREFIX", "sumup", "checkout_reference_prefix", default="coop"),
        ),
        timeout_seconds=check.seconds(
            "SUMUP_TIMEOUT_SECONDS",
            src.get("SUMUP_TIMEOUT_SECONDS", "sumup", "timeout_seconds", default=10),
            high=MAX_SUMUP_TIMEOUT_SECONDS,
        ),
        sandbox_store=check.choice(
            "SUMUP_SANDBOX_STORE",
            src.get("SUMUP_SANDBOX_STORE", "sumup", "sandbox_store", default="database"),
            SANDBOX_STORES,
        ),
    )


def _site_settings(src: _Source, app_urls: Mapping[str, str]) -> SiteSettings:
    contact_email = src.get("SITE_CONTACT_EMAIL", "site", "contact_email")
    terms_url = src.get("SITE_TERMS_URL", "site", "terms_url")
    blog = app_urls.get("blog", "")
    sign_in_url = src.get("SITE_SIGN_IN_URL", "site", "sign_in_url")
    sign_out_url = src.get("SITE_SIGN_OUT_URL", "site", "sign_out_url")
    return SiteSettings(
        name=check.site_name(
            "SITE_NAME", src.get("SITE_NAME", "site", "name", default="The Co-op")
        ),
        contact_email=check.email("SITE_CONTACT_EMAIL", contact_email) if contact_email else "",
        terms_url=check.web_url("SITE_TERMS_URL", terms_url) if terms_url else "",
        sign_in_url=check.web_url("SITE_SIGN_IN_URL", sign_in_url)
        if sign_in_url
        else f"{blog}/auth/login/",
        sign_out_url=check.web_url("SITE_SIGN_OUT_URL", sign_out_url)
        if sign_out_url
        else f"{blog}/auth/logout/",
        time_zone=check.time_zone(
            "SITE_TIME_ZONE",
            src.get("SITE_TIME_ZONE", "site", "time_zone", default="Europe/London"),
        ),
    )


def _development_secret(var_dir: Path) -> str:
    """A secret made once per checkout and kept, so sessions survive a restart."""
    path = var_dir / "secret_key"
    try:
        if path.exists():
            return check.secret_key(path.read_text().strip())
        var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # Created with owner-only permissions: the secret signs every session cookie.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return check.secret_key(path.read_text().strip())
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
    except OSError as exc:
        raise ConfigError(
            f"CART_VAR_DIR {var_dir} cannot keep the development secret: {exc.strerror}"
        ) from None
    except ConfigError:
        raise ConfigError(
            f"{path} holds a secret shorter than {check.MIN_SECRET_KEY_LENGTH} characters: "
            "delete it and a new one is made"
        ) from None
