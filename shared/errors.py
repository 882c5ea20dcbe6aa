"""Error pages for the five services: a plain message, never a trace.

Two server-side failures are told apart, because the shopper's next step differs:

- the database cannot be reached (stopped, restarting, refusing connections, its pool
  exhausted, a SQLite file locked): 503, "try again in a moment", with Retry-After;
- anything else: 500.

Neither says "nothing was changed": a request that fails may already have committed (a
checkout commits its order before it starts the payment; a commit whose answer was lost
may have gone through). A POST is told that an order may have been saved and where to look.
"""

from __future__ import annotations

import logging
import sqlite3
from types import TracebackType
from typing import Any

from quart import Quart, g, jsonify, render_template, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

TITLES = {
    400: "That request could not be understood",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    413: "Too large",
    500: "Something went wrong on our side",
    503: "Try again in a moment",
}
SERVER_ERROR_MESSAGE = (
    "Something went wrong on our side and we could not finish that. "
    "If you were paying, look in Your orders before trying again."
)
DATABASE_UNREACHABLE_MESSAGE = "The shop cannot reach its database just now; try again in a moment."
# A request that writes may have committed before the database went away.
MAY_HAVE_BEEN_SAVED = (
    "If you were checking out, your order may have been saved: "
    "look in Your orders before paying again."
)
RETRY_AFTER_SECONDS = 5
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# PostgreSQL's SQLSTATEs for "no connection" (class 08), the server shutting down or
# starting up (57P01-57P03), a session ended by the server (57P05), too many connections.
_UNREACHABLE_SQLSTATE_CLASSES = ("08",)
_UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57P05", "53300"})
# SQLite's ways of saying the file cannot be used just now.
_SQLITE_UNREACHABLE = ("database is locked", "unable to open database file")
# Code that talks to the database: an OSError raised from inside it is a connection failing
# (refused, reset, timed out), not a file of ours or a call to another service.
_DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlite3", "sqlalchemy")


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


async def render_error(  # type: ignore[no-untyped-def]
    status: int, message: str, headers: dict[str, str] | None = None
):
    """The error page (or JSON body); renders without asking the database anything."""
    headers = headers or {}
    if wants_json():
        body = {"error": TITLES.get(status, "error"), "message": message}
        return jsonify(body), status, headers
    title = TITLES.get(status, "Error")
    # The page header's cart count and user name are left out (bp/cart/site_header.py):
    # the database may be why this page is shown.
    g.render_without_database = True
    page = await render_template("error.html", status=status, title=title, message=message)
    return page, status, headers


def database_unreachable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database could not be reached."""
    return any(_unreachable(link) for link in _causes(error))


def describe(error: BaseException) -> str:
    """One short line for the log: the innermost cause's type and the first line of its
    message (not SQLAlchemy's text, which carries the statement and its parameters)."""
    innermost = _causes(error)[-1]
    text = str(innermost).strip().splitlines()
    return f"{type(innermost).__name__}: {text[0][:200] if text else ''}".rstrip(": ")


def init_error_pages(app: Quart) -> None:
    # Tests see the error page a shopper would, not the exception.
    app.config["PROPAGATE_EXCEPTIONS"] = False

    # Quart logs the full trace of an error that escapes the request's finishing (a commit
    # in after_request that fails). An outage would write one per request: the handler
    # below writes its one line instead.
    log_exception = app.log_exception

    def _log_exception(
        exception_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        if exception_info[1] is None or not database_unreachable(exception_info[1]):
            log_exception(exception_info)

    app.log_exception = _log_exception  # type: ignore[method-assign]

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if status >= 500:
            return await _server_error(error)
        return await render_error(status, error.description or TITLES.get(status, ""))

    @app.errorhandler(Exception)
    async def _server_error(error: Exception):  # type: ignore[no-untyped-def]
        if database_unreachable(error):
            return await _database_unreachable(error)
        if not isinstance(error, HTTPException):
            log.exception("unhandled error on %s %s", request.method, request.path)
        return await render_error(500, SERVER_ERROR_MESSAGE)


async def _database_unreachable(error: BaseException):  # type: ignore[no-untyped-def]
    # One line per request, no trace: during an outage every request lands here.
    log.warning("database unreachable on %s %s: %s", request.method, request.path, describe(error))
    message = DATABASE_UNREACHABLE_MESSAGE
    if request.method not in _SAFE_METHODS:
        message = f"{message} {MAY_HAVE_BEEN_SAVED}"
    return await render_error(503, message, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _causes(error: BaseException) -> list[BaseException]:
    """`error`, then what it wraps: the exception behind a 500, SQLAlchemy's `orig`, and
    each explicit `raise ... from` cause."""
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and all(link is not seen for seen in chain):
        chain.append(link)
        inner: Any = getattr(link, "original_exception", None)
        if inner is None and isinstance(link, sa_exc.StatementError):
            inner = link.orig
        link = inner if isinstance(inner, BaseException) else link.__cause__
    return chain


def _unreachable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # no connection free in the pool
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
            return True
        if isinstance(error, sa_exc.OperationalError):
            # SQLite says "operational" of a missing table too: only some of its messages.
            return not isinstance(error.orig, sqlite3.Error) or _sqlite_unreachable(error.orig)
        return False
    if isinstance(error, sqlite3.OperationalError):
        return _sqlite_unreachable(error)
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and (
        sqlstate.startswith(_UNREACHABLE_SQLSTATE_CLASSES) or sqlstate in _UNREACHABLE_SQLSTATES
    ):
        return True
    if _is_asyncpg_interface_error(error):  # "connection is closed", "does not exist"
        return True
    return isinstance(error, OSError) and _raised_by_database_driver(error)


def _sqlite_unreachable(error: BaseException) -> bool:
    message = str(error).lower()
    return any(phrase in message for phrase in _SQLITE_UNREACHABLE)


def _is_asyncpg_interface_error(error: BaseException) -> bool:
    try:
        from asyncpg.exceptions import InterfaceError
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(error, InterfaceError)


def _raised_by_database_driver(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.split(".", 1)[0] in _DRIVER_MODULES:
            return True
        traceback = traceback.tb_next
    return False
