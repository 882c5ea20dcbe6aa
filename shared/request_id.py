"""A request id in every log line: taken from the proxy's X-Request-ID, else made here."""

from __future__ import annotations

import logging
import re
import secrets

from quart import Quart, g, has_request_context, request

# Ids from the proxy are echoed into logs and headers, so only a plain token is taken over
# (whole: `$` alone would let a final newline through).
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def _not_hypercorns_own(record: logging.LogRecord) -> bool:
    # Hypercorn prints its lines through handlers of its own (set up after the app is
    # imported, so its loggers still propagate); printing them here too would double them.
    return not record.name.startswith("hypercorn.")


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(RequestIdFilter())
        handler.addFilter(_not_hypercorns_own)
        root.addHandler(handler)
    root.setLevel(level)


def init_request_id(app: Quart) -> None:
    @app.before_request
    async def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_ID.fullmatch(incoming) else secrets.token_hex(8)

    @app.after_request
    async def _echo_request_id(response):  # type: ignore[no-untyped-def]
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        return response
