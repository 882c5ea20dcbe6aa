"""A plain 400 for a malformed Host header, before the framework sees the request.

Quart binds its URL map to the request's Host while it makes the request context, before any
error handler of ours exists; werkzeug IDNA-encodes the name there, and a label of 64
characters or an empty one (`a..b`) raises. Hypercorn then answers 500 and logs a traceback,
in every mode. Other malformed values (`under_score`, `bücher.de`, `a b`, port 99999) do not
raise, but werkzeug reads them as "no host": the origin checks and any absolute URL would be
built on an empty name. So a request whose Host is not a valid `host[:port]` is answered here:

- host: DNS labels of 1 to 63 letters, digits and hyphens (not first or last), dot-separated,
  253 characters at most, one final dot allowed (IPv4 is such a name); or an IPv6 address in
  brackets;
- port: 1 to 65535, no leading zero (werkzeug reads nothing else as a port);
- exactly one Host header, not empty. A request with none (HTTP/1.0) keeps werkzeug's
  fallback to the server's own address.

The guard sits inside the proxy fix (`shared/base_app.py`), so behind trusted proxies it
checks the Host the app will use: the X-Forwarded-Host the fix took, and the scheme it took
from X-Forwarded-Proto, which must be `http` or `https`. It costs one compiled regex.

One more thing raises at the same place: the query string, which Quart decodes as UTF-8 to
bind the URL map. HTTP/1.1 cannot carry a byte that is not ASCII there (h11 refuses it), but
HTTP/2, which hypercorn speaks on the same port, can: such a query string is a 400 too.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_LABEL = rb"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(
    rb"(?:(?P<name>" + _LABEL + rb"(?:\." + _LABEL + rb")*\.?)"
    rb"|\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\])"
    rb"(?::(?P<port>[1-9][0-9]{0,4}))?"
)
_MAX_NAME = 253
# The longest valid value: a 253-character name, its final dot, ":65535".
_MAX_HOST = _MAX_NAME + 1 + 6
_SCHEMES = frozenset({"http", "https"})

HOST = "Host header"
FORWARDED_PROTO = "X-Forwarded-Proto header"
QUERY = "query string"


def valid_host(value: bytes) -> bool:
    """Whether `value` (a Host header, as sent) is a valid `host[:port]`."""
    if len(value) > _MAX_HOST:
        return False
    match = _HOST.fullmatch(value)
    if match is None:
        return False
    name, ipv6, port = match.group("name", "ipv6", "port")
    if port is not None and int(port) > 65535:
        return False
    if name is not None:
        return len(name.rstrip(b".")) <= _MAX_NAME
    try:
        ipaddress.IPv6Address(ipv6.decode("ascii"))
    except ValueError:
        return False
    return True


def refusal(scope: Scope) -> tuple[str, bytes] | None:
    """(what is malformed, the value refused) when the request's Host, scheme or query
    string is malformed; None when it may go on."""
    hosts = [value for name, value in scope.get("headers", ()) if name.lower() == b"host"]
    if len(hosts) > 1:
        return HOST, b", ".join(hosts)
    if hosts and not valid_host(hosts[0]):
        return HOST, hosts[0]
    scheme = scope.get("scheme", "http")
    if scheme not in _SCHEMES and not (scope["type"] == "websocket" and scheme in ("ws", "wss")):
        return FORWARDED_PROTO, str(scheme).encode("utf-8", "backslashreplace")
    query = scope.get("query_string", b"")
    if not query.isascii():
        try:
            query.decode("utf-8")
        except UnicodeDecodeError:
            return QUERY, query
    return None


class HostGuard:
    """ASGI middleware: a malformed Host is a plain 400 (and one warning line)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refused = refusal(scope)
            if refused is not None:
                what, value = refused
                log.warning("400 for a malformed %s: %r", what, value[:100])
                await _answer_400(scope, receive, send, f"Bad Request: malformed {what}")
                return
        await self.app(scope, receive, send)


async def _answer_400(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})
        return
    body = message.encode("ascii")
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"x-content-type-options", b"nosniff"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def init_host_guard(app: Any) -> None:
    """Wraps the app's ASGI callable: call it before the proxy fix wraps the app."""
    app.asgi_app = HostGuard(app.asgi_app)
