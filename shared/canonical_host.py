"""One address in development: the host and port of APP_URL_CART.

The session cookie belongs to the host name the browser used. A shop opened as
`localhost:8002` keeps its cart in a cookie `127.0.0.1:8002` never sees, yet SumUp's return
page and webhook are built from APP_URL_CART (never from the request's Host): after paying,
the shopper came back to a host where they had no session, and the return page said 404.

So in development, a request whose Host is not APP_URL_CART's host and port is
- GET or HEAD: redirected (308) to the same path and query on APP_URL_CART;
- any other method: refused with a 400 page naming the address to use. A form posted there
  carries the other host's session and its CSRF token; it is never taken, not even redirected
  (a 308 would post it again with no cookie of ours).
/healthz and /readyz answer under any name, for probes that use an address of their own.
A Host without a port is taken as naming APP_URL_CART's port: behind a TLS proxy that is not
trusted the app cannot tell which scheme the browser used, and guessing "http, so port 80"
would redirect https://cart.dev/ to itself for ever; cookies do not tell ports apart anyway.

Production never has this: its reverse proxy must answer on the one public name and
redirect the others (README, "Production"). CANONICAL_HOST_REDIRECT=false turns it off in
development too (the in-process tests, whose client calls itself `localhost`). It runs
before the CSRF check, so the shopper reads why rather than "this form has expired"; the
host guard (shared/host_guard.py) has refused a malformed Host before this runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from quart import Quart, redirect, request, url_for
from quart.typing import ResponseReturnValue

from shared.config import Settings
from shared.errors import render_error

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
_REDIRECTED_METHODS = frozenset({"GET", "HEAD"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What may stay as it is in a Location's path and query; anything else is %-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass(frozen=True)
class CanonicalHost:
    url: str  # APP_URL_CART, without a final /
    host: str  # its host name, lower-case (an IPv6 address without brackets)
    port: int  # its port, or its scheme's default

    @classmethod
    def of(cls, app_url: str) -> CanonicalHost:
        parts = urlsplit(app_url)
        return cls(
            url=app_url.rstrip("/"),
            host=(parts.hostname or "").lower(),
            port=parts.port or _DEFAULT_PORTS.get(parts.scheme, 80),
        )

    @property
    def address(self) -> str:
        """scheme://host[:port], as the shopper should type it."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def is_this(self, host_header: str) -> bool:
        """Whether a Host header (host[:port]) names this host and port."""
        try:
            parts = urlsplit("//" + host_header)
            port = parts.port
        except ValueError:
            return False
        return (parts.hostname or "").lower() == self.host and (port or self.port) == self.port


def _same_place_on(canonical: CanonicalHost) -> str:
    """The request's path and query on the canonical address (never another site's: the
    address comes from the settings, the path is %-encoded and starts with /)."""
    raw_path = request.scope.get("raw_path") or request.path.encode("utf-8")
    path = quote(raw_path, safe=_PATH_SAFE)
    if not path.startswith("/"):
        path = "/" + path
    query = quote(request.query_string, safe=_QUERY_SAFE)
    return canonical.url + path + (f"?{query}" if query else "")


def init_canonical_host(app: Quart, settings: Settings) -> None:
    """Development only, unless CANONICAL_HOST_REDIRECT is off. Call it before init_csrf,
    so that it runs first."""
    if settings.production or not settings.canonical_host_redirect:
        return
    if "cart" not in settings.app_urls:
        return
    canonical = CanonicalHost.of(settings.app_urls["cart"])

    @app.before_request
    async def _one_host() -> ResponseReturnValue | None:
        if request.path in EXEMPT_PATHS or canonical.is_this(request.host):
            return None
        if request.method in _REDIRECTED_METHODS:
            return redirect(_same_place_on(canonical), 308)
        log.info(
            "%s %s on host %s refused: this service answers at %s",
            request.method,
            request.path,
            request.host,
            canonical.address,
        )
        return await render_error(
            400,
            f"This shop answers at {canonical.address}, not at {request.host}, where your "
            "browser keeps another session. Nothing was done. Please open "
            f"{canonical.url}{url_for('cart.overview')} and try again from there.",
        )
