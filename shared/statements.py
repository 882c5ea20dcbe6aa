"""Statements built once and run many times: the reads every cart page makes, and the write
of add-to-cart.

Building a SQLAlchemy statement (coercing its clauses, then computing the cache key under
which its compiled form is kept) costs more CPU than running it on a warm connection: on
the cart page it was a fifth of a request. A statement object keeps its cache key once
computed, so the hot reads are built once, with `bindparam` placeholders where their values
go, and each request only binds the values (`functools.cache` builds one per variant: a
user's or an anonymous session's, one page's or the site-level cart's). `fetch_all` runs
them (on PostgreSQL through asyncpg itself).

`belongs_to` is the one rule of who owns a row (a cart line, a booking, an order), written
with plain values for the statements built per call and with placeholders for these.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Executable, and_, bindparam
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.util import greenlet_spawn

from shared.compiled_statements import text_and_arguments
from shared.interfaces import Owner

OWNER_USER_ID = "owner_user_id"
OWNER_SESSION_ID = "owner_session_id"


def belongs_to(
    entity: Any,
    *,
    user_id: int | BindParameter[Any] | None,
    session_id: str | BindParameter[Any] | None,
) -> ColumnElement[bool]:
    """The rows of `entity` (a mapped class with user_id and session_id columns) of a user,
    by user id; else of an anonymous session, and only while no user has adopted them (so an
    old anonymous id never reaches a signed-in user's rows)."""
    if user_id is not None:
        return entity.user_id == user_id
    return and_(entity.session_id == session_id, entity.user_id.is_(None))


def belongs_to_owner_param(entity: Any, *, signed_in: bool) -> ColumnElement[bool]:
    """`belongs_to` with placeholders, for a statement built once; bind `owner_params`."""
    if signed_in:
        return belongs_to(entity, user_id=bindparam(OWNER_USER_ID), session_id=None)
    return belongs_to(entity, user_id=None, session_id=bindparam(OWNER_SESSION_ID))


def owner_params(owner: Owner) -> dict[str, Any]:
    """The values for `belongs_to_owner_param(..., signed_in=owner.signed_in)`. A value the
    statement has no placeholder for is ignored, so callers may add theirs unconditionally."""
    if owner.signed_in:
        return {OWNER_USER_ID: owner.user_id}
    return {OWNER_SESSION_ID: owner.session_id}


async def fetch_all(
    session: AsyncSession,
    statement: Executable,
    params: Mapping[str, Any],
    *,
    may_commit_alone: bool = False,
) -> Sequence[Any]:
    """The rows of a statement built once, each with its columns as attributes (`row.title`).

    On PostgreSQL the statement, compiled once, goes to asyncpg itself on the session's
    connection: SQLAlchemy's execution and result machinery was the largest part of a cart
    page's CPU after the page's own rendering, and the floor of this stack is asyncpg. It
    runs in the session's transaction when one has begun (a write earlier in the request).
    Else a read runs on its own (at READ COMMITTED it sees the same either way), and so does
    a write whose caller says it `may_commit_alone` (a request's only write: one statement
    is its own transaction); any other write goes through SQLAlchemy, which begins the
    session's transaction for it and for the writes after it.
    """
    connection = await _connection(session)
    if connection.dialect.driver != "asyncpg":
        return (await connection.execute(statement, params)).all()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    is_write = getattr(statement, "is_dml", False)
    if is_write and not may_commit_alone and not driver.is_in_transaction():
        return (await connection.execute(statement, params)).all()
    text, arguments = text_and_arguments(statement, connection.dialect, params)
    sync = connection.sync_connection
    if sync is not None and sync.dispatch.before_cursor_execute:
        # Listeners of the engine's statements (the tests', the bench's) see this one too,
        # called as SQLAlchemy calls them: in its greenlet, where they may await.
        await greenlet_spawn(
            sync.dispatch.before_cursor_execute,
            sync,
            None,
            text,
            tuple(arguments),
            None,
            False,
        )
    records = await driver.fetch(text, *arguments)
    if not records:
        return []
    make_row = _row_class(tuple(records[0].keys()))._make
    return [make_row(record) for record in records]


async def fetch_first(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Any | None:
    """The first row `fetch_all` would give, or None."""
    rows = await fetch_all(session, statement, params)
    return rows[0] if rows else None


@lru_cache(maxsize=256)
def _row_class(columns: tuple[str, ...]) -> Any:
    """Rows of these columns: by name as attributes, and by position, as SQLAlchemy's rows."""
    # rename: a column without a name fit for an attribute is still there by position.
    return namedtuple("Row", columns, rename=True)  # type: ignore[misc]  # noqa: PYI024


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, with what the session still holds flushed first, as
    `session.execute` would (autoflush), so that a read sees it."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return await session.connection()
