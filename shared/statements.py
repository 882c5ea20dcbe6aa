"""Statements built once and run many times: the reads every cart page makes.

Building a SQLAlchemy statement (coercing its clauses, then computing the cache key under
which its compiled form is kept) costs more CPU than running it on a warm connection: on
the cart page it was a fifth of a request. A statement object keeps its cache key once
computed, so the hot reads are built once, with `bindparam` placeholders where their values
go, and each request only binds the values (`functools.cache` builds one per variant: a
user's or an anonymous session's, one page's or the site-level cart's); `run` runs them.

`belongs_to` is the one rule of who owns a row (a cart line, a booking, an order), written
with plain values for the statements built per call and with placeholders for these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import BindParameter, ColumnElement, Executable, Result, and_, bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.interfaces import Owner

OWNER_USER_ID = "owner_user_id"
OWNER_SESSION_ID = "owner_session_id"


class OwnedEntity(Protocol):
    user_id: InstrumentedAttribute[int | None]
    session_id: InstrumentedAttribute[str | None]


def belongs_to(
    entity: type[OwnedEntity],
    *,
    user_id: int | BindParameter[Any] | None,
    session_id: str | BindParameter[Any] | None,
) -> ColumnElement[bool]:
    """The entity's rows of a user, by user id; else of an anonymous session, and only while
    no user has adopted them (so an old anonymous id never reaches a signed-in user's rows)."""
    if user_id is not None:
        return entity.user_id == user_id
    return and_(entity.session_id == session_id, entity.user_id.is_(None))


def belongs_to_owner_param(entity: type[OwnedEntity], *, signed_in: bool) -> ColumnElement[bool]:
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


async def run(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Result[Any]:
    """Run a statement built once in the session's transaction, as Core: plain rows, without
    the ORM's per-execution work (about a third of a hot read's CPU). Changes the session
    still holds are flushed first, as `session.execute` would, so that the read sees them."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    return await connection.execute(statement, params)
