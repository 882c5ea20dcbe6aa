"""Which failures mean "the database cannot be reached" (503, try again) and which are a 500."""

from __future__ import annotations

import sqlite3

import asyncpg
import httpx
import pytest
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import InternalServerError

from shared.errors import database_unreachable, describe


def _raised(error: BaseException, *, in_module: str) -> BaseException:
    """`error` as raised by code of the module `in_module` (its traceback says so)."""
    namespace = {"__name__": in_module}
    exec("def fail(error):\n    raise error\n", namespace)  # noqa: S102
    try:
        namespace["fail"](error)  # type: ignore[operator]
    except BaseException as raised:  # noqa: BLE001
        return raised
    raise AssertionError("not raised")


def _operational(orig: BaseException) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, orig)


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _dbapi(cause: BaseException, **kwargs: bool) -> sa_exc.DBAPIError:
    orig = Exception("translated")
    orig.__cause__ = cause
    return sa_exc.DBAPIError("SELECT 1", {}, orig, **kwargs)


def _caused_by(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


RESET = _operational(ConnectionResetError("reset"))
UNREACHABLE = {
    "sqlite locked": _operational(sqlite3.OperationalError("database is locked")),
    "sqlite cannot open": _operational(sqlite3.OperationalError("unable to open database file")),
    "postgres operational": _operational(ConnectionResetError("server closed the connection")),
    "interface error": sa_exc.InterfaceError("SELECT 1", {}, Exception("connection is closed")),
    "connection invalidated": sa_exc.DBAPIError(
        "SELECT 1", {}, Exception("gone"), connection_invalidated=True
    ),
    "pool exhausted": sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    "admin shutdown": _dbapi(_PgError("57P01")),
    "starting up": asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    "too many connections": _dbapi(_PgError("53300")),
    "connection failure class 08": _PgError("08006"),
    "asyncpg connection gone": asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"
    ),
    "refused by the driver": _raised(ConnectionRefusedError(111, "refused"), in_module="asyncpg.x"),
    "timed out in the driver": _raised(TimeoutError(), in_module="sqlalchemy.pool.impl"),
    "behind a 500": InternalServerError(
        original_exception=_operational(sqlite3.OperationalError("database is locked"))
    ),
    "raised from one": _caused_by(RuntimeError("wrapped"), RESET),
}
NOT_UNREACHABLE = {
    "a bug": RuntimeError("bug"),
    "sqlite missing table": _operational(sqlite3.OperationalError("no such table: orders")),
    "integrity": sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
    "no such database (configuration)": _dbapi(_PgError("3D000")),
    "refused in our own code": _raised(ConnectionRefusedError(111, "refused"), in_module="bp.x"),
    "payment service refused": _caused_by(
        httpx.ConnectError("refused"),
        _raised(ConnectionRefusedError(111, "refused"), in_module="httpcore._async"),
    ),
    "file not found": FileNotFoundError("config.yaml"),
    "a plain 500": InternalServerError(),
}


@pytest.mark.parametrize("error", UNREACHABLE.values(), ids=UNREACHABLE.keys())
def test_the_database_out_of_reach_is_recognised(error: BaseException) -> None:
    assert database_unreachable(error)


@pytest.mark.parametrize("error", NOT_UNREACHABLE.values(), ids=NOT_UNREACHABLE.keys())
def test_other_failures_are_not_taken_for_an_outage(error: BaseException) -> None:
    assert not database_unreachable(error)


def test_the_log_line_names_the_cause_without_the_statement_or_its_parameters() -> None:
    error = sa_exc.OperationalError(
        "INSERT INTO users (email) VALUES ($1)",
        ("shopper@example.org",),
        ConnectionResetError("server closed the connection\nunexpectedly"),
    )
    assert describe(error) == "ConnectionResetError: server closed the connection"
    assert describe(RESET) == "ConnectionResetError: reset"
