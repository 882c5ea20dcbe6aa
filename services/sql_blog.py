"""services.blog over the shared `posts` table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import PageInfo
from shared.models import Post, User
from shared.statements import fetch_all, fetch_first

# What a PageInfo holds, and no more (a post's body can be long). Built once, each of these
# (shared/statements.py): every cart page looks its page up.
_PAGE_COLUMNS = (Post.id, Post.slug, Post.title)
_PAGE_BY_SLUG = select(*_PAGE_COLUMNS).where(Post.slug == bindparam("slug"))
_PAGE_BY_ID = select(*_PAGE_COLUMNS).where(Post.id == bindparam("page_id"))
_USER_NAME = select(User.display_name).where(User.id == bindparam("user_id"))
_PAGES_BY_IDS = select(*_PAGE_COLUMNS).where(Post.id.in_(bindparam("page_ids", expanding=True)))


def _info(row: Any) -> PageInfo:
    """From a row of _PAGE_COLUMNS (SQLAlchemy's, or asyncpg's by way of fetch_all)."""
    return PageInfo(id=row.id, slug=row.slug, title=row.title)


class SqlBlogService:
    async def page_by_slug(self, session: AsyncSession, slug: str) -> PageInfo | None:
        if "\x00" in slug:
            # No stored slug can hold one (PostgreSQL refuses NUL in text, as a query error).
            return None
        row = await fetch_first(session, _PAGE_BY_SLUG, {"slug": slug})
        return _info(row) if row else None

    async def page_by_id(self, session: AsyncSession, page_id: int) -> PageInfo | None:
        row = await fetch_first(session, _PAGE_BY_ID, {"page_id": page_id})
        return _info(row) if row else None

    async def pages_by_ids(
        self, session: AsyncSession, page_ids: Iterable[int]
    ) -> dict[int, PageInfo]:
        wanted = sorted(set(page_ids))
        if not wanted:
            return {}
        rows = await fetch_all(session, _PAGES_BY_IDS, {"page_ids": wanted})
        return {row.id: _info(row) for row in rows}

    async def list_pages(self, session: AsyncSession) -> list[PageInfo]:
        rows = await session.execute(select(*_PAGE_COLUMNS).order_by(Post.title, Post.id))
        return [_info(row) for row in rows]

    async def user_name(self, session: AsyncSession, user_id: int) -> str | None:
        row = await fetch_first(session, _USER_NAME, {"user_id": user_id})
        return row.display_name if row else None
