"""How each setting is checked at start-up: one function a kind of value, each returning the
value as the app uses it or raising ConfigError with one line that names the setting.

Messages quote a value only where it is harmless: never a secret, never a database or Redis
URL (they carry passwords), never an API key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message is one line an operator can act on."""


DATABASE_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")
REDIS_SCHEMES = ("redis", "rediss", "unix")
MIN_SECRET_KEY_LENGTH = 32

# A SumUp API key is named by reference. From the environment only these names are read
# (never SECRET_KEY or any other variable); a secrets file may name its keys as it likes.
API_KEY_REF = re.compile(r"SUMUP_API_KEY(?:_[A-Z0-9_]{1,64})?")
API_KEY_REF_RULE = (
    "use SUMUP_API_KEY or SUMUP_API_KEY_<NAME> (read from the environment), "
    "or a key of the secrets file SUMUP_SECRETS_FILE"
)
# SumUp merchant codes are short upper-case codes (MH4H92C7); the sandbox takes MSANDBOX1.
MERCHANT_CODE = re.compile(r"[A-Za-z0-9]{1,32}")
# checkout_reference is "<prefix>-<order ref>-<attempt>": with the order ref's 32 characters
# and an attempt number of up to 10 digits, a prefix of 20 keeps it within SumUp's 64.
CHECKOUT_PREFIX = re.compile(r"[A-Za-z0-9]{1,20}")
COOKIE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
COOKIE_DOMAIN = re.compile(rf"\.?{_LABEL}(?:\.{_LABEL})*")
STREAM_NAME = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces
_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def shown(value: object, limit: int = 40) -> str:
    """A harmless value as it may appear in a message: quoted, control characters escaped,
    cut short."""
    text = repr(str(value))
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def whole_number(name: str, value: Any, *, low: int, high: int) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {shown(value)}")
    return number


def seconds(name: str, value: Any, *, high: float) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 < number <= high):
        raise ConfigError(
            f"{name} must be a number of seconds above 0 and at most {high:g}, not {shown(value)}"
        )
    return number


def flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {shown(value)}")


def choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of a few words, as written in lower case."""
    word = value.strip().lower() if isinstance(value, str) else ""
    if word not in choices:
        raise ConfigError(f"{name} must be {' or '.join(choices)}, not {shown(value)}")
    return word


def text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be text, not {shown(value)}")
    return value.strip()


def web_url(name: str, value: Any) -> str:
    """An http(s) URL with a host and nothing after its path; returned without the final /."""
    url = text(name, value)
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or port == 0
        or any(ch.isspace() or not ch.isprintable() for ch in url)
    ):
        raise ConfigError(
            f"{name} must be an http:// or https:// URL with a host "
            f"(e.g. https://cart.coop.example), not {shown(url)}"
        )
    return url.rstrip("/")


def database_url(name: str, value: Any) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = text(name, value)
    example = "e.g. postgresql+asyncpg://cart:password@db.internal/coop"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        # The URL itself is not repeated: it may hold the database password.
        raise ConfigError(f"{name} is not a database URL ({example})") from None
    if parsed.drivername not in DATABASE_DRIVERS:
        raise ConfigError(
            f"{name} uses the driver {shown(parsed.drivername)}: the cart speaks "
            f"{' or '.join(DATABASE_DRIVERS)} ({example})"
        )
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise ConfigError(f"{name} has a port out of range ({example})")
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise ConfigError(f"{name} must name a SQLite file (sqlite+aiosqlite:///path/cart.sqlite3)")
    return url


def is_sqlite_url(url: str) -> bool:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name() == "sqlite"


def redis_url(name: str, value: Any) -> str:
    url = text(name, value)
    example = "e.g. redis://cache.internal:6379/0, rediss://… or unix:///run/redis.sock"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} is not a Redis URL ({example})") from None
    if parts.scheme not in REDIS_SCHEMES:
        raise ConfigError(f"{name} must start with redis://, rediss:// or unix:// ({example})")
    if parts.scheme == "unix":
        ok = bool(parts.path)
    else:
        database = parts.path.lstrip("/")
        ok = bool(parts.hostname) and port != 0 and (not database or database.isdigit())
    if not ok or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ConfigError(f"{name} is not a Redis URL ({example})")
    return url


def secret_key(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_KEY_LENGTH:
        # Its length only: the secret signs every session cookie of the five services.
        raise ConfigError(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters "
            "(the secret shared by all services, e.g. from secrets.token_urlsafe(48))"
        )
    return value


def locale(name: str, value: Any) -> str:
    from babel import Locale, UnknownLocaleError

    code = text(name, value)
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError, TypeError):
        raise ConfigError(
            f"{name} must be a locale Babel knows, such as en_GB or de_DE, not {shown(code)}"
        ) from None
    return code


def currency(name: str, value: Any) -> str:
    from babel.numbers import list_currencies

    code = text(name, value)
    if not (len(code) == 3 and code.isascii() and code.isupper() and code in list_currencies()):
        raise ConfigError(
            f"{name} must be an ISO 4217 currency code such as GBP, not {shown(code)}"
        )
    return code


def _matching(name: str, value: Any, pattern: re.Pattern[str], must_be: str) -> str:
    """The text `value` if the whole of it matches `pattern`; else one line saying why."""
    found = text(name, value)
    if not pattern.fullmatch(found):
        raise ConfigError(f"{name} must be {must_be}, not {shown(found)}")
    return found


def merchant_code(name: str, value: Any) -> str:
    return _matching(
        name, value, MERCHANT_CODE, "a SumUp merchant code (letters and digits, at most 32)"
    )


def checkout_prefix(name: str, value: Any) -> str:
    return _matching(
        name,
        value,
        CHECKOUT_PREFIX,
        "1 to 20 letters and digits (it starts every SumUp checkout_reference, which SumUp "
        "takes up to 64 characters)",
    )


def cookie_name(name: str, value: Any) -> str:
    return _matching(name, value, COOKIE_NAME, "1 to 64 letters, digits, '_', '.' or '-'")


def cookie_domain(name: str, value: Any) -> str:
    domain = text(name, value)
    if len(domain) > 253 or not COOKIE_DOMAIN.fullmatch(domain):
        raise ConfigError(f"{name} must be a domain such as .coop.example, not {shown(domain)}")
    return domain


def stream_name(name: str, value: Any) -> str:
    stream = text(name, value)
    if not STREAM_NAME.fullmatch(stream):
        raise ConfigError(
            f"{name} must be 1 to 200 printable characters without spaces, not {shown(stream)}"
        )
    return stream


# The site's name heads every page: one line of readable text, no control characters.
SITE_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,80}")
# A contact address shown as a mailto: link: one @, no spaces, nothing a URL would split on.
EMAIL = re.compile(r"[^@\s<>\"'?#/\\]{1,64}@[A-Za-z0-9.-]{1,253}")


def site_name(name: str, value: Any) -> str:
    return _matching(name, value, SITE_NAME, "1 to 80 characters of text on one line")


def email(name: str, value: Any) -> str:
    return _matching(name, value, EMAIL, "an email address such as shop@coop.example")


def time_zone(name: str, value: Any) -> ZoneInfo:
    zone = text(name, value)
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as Europe/London, not {shown(zone)}"
        ) from None


# --- SumUp API keys by reference ---------------------------------------------------------


def is_environment_key_ref(ref: str) -> bool:
    """Whether `ref` is one of the names an API key may be read from the environment by."""
    return bool(API_KEY_REF.fullmatch(ref))


def shown_key_ref(ref: object) -> str:
    """A key reference as a message may show it: a name is shown; something that is not a
    name (a key pasted where its name belongs?) is not."""
    if isinstance(ref, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,79}", ref):
        if not ref.lower().startswith("sup_sk_"):
            return repr(ref)
    return "(not a name: not shown)"


def read_secrets_file(path: Path) -> dict[str, object]:
    """The secrets file's mapping of key names to keys."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"SumUp secrets file {path} cannot be read: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        # The parser's message can quote the file's lines, keys included: not repeated.
        raise ConfigError(f"SumUp secrets file {path} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise ConfigError(f"SumUp secrets file {path} must be a mapping of names to keys")
    return data


def check_api_key_ref(name: str, ref: Any, *, secrets_file: Path | None) -> str:
    """`ref` if it may name an API key: SUMUP_API_KEY or SUMUP_API_KEY_<NAME>, or a key of
    the secrets file. `name` is the setting's (SUMUP_API_KEY_REF, a page's column)."""
    if isinstance(ref, str) and is_environment_key_ref(ref):
        return ref
    if isinstance(ref, str) and secrets_file is not None and ref in read_secrets_file(secrets_file):
        return ref
    raise ConfigError(f"{name} {shown_key_ref(ref)} is not allowed: {API_KEY_REF_RULE}")


def mapping(where: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping of settings, not {shown(value)}")
    return value
