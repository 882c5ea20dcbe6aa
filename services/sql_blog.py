"""services.blog over the shared `posts` table."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import PageInfo
from shared.models import Post


def _info(post: Post) -> PageInfo:
    return PageInfo(id=post.id, slug=post.slug, title=post.title)


class SqlBlogService:
    async def page_by_slug(self, session: AsyncSession, slug: str) -> PageInfo | None:
        if "\x00" in slug:
            # No stored slug can hold one (PostgreSQL refuses NUL in text, as a query error).
            return None
        post = await session.scalar(select(Post).where(Post.slug == slug))
        return _info(post) if post else None

    async def page_by_id(self, session: AsyncSession, page_id: int) -> PageInfo | None:
        post = await session.get(Post, page_id)
        return _info(post) if post else None

    async def pages_by_ids(
        self, session: AsyncSession, page_ids: Iterable[int]
    ) -> dict[int, PageInfo]:
        wanted = set(page_ids)
        if not wanted:
            return {}
        posts = await session.scalars(select(Post).where(Post.id.in_(wanted)))
        return {post.id: _info(post) for post in posts}

    async def list_pages(self, session: AsyncSession) -> list[PageInfo]:
        posts = await session.scalars(select(Post).order_by(Post.title, Post.id))
        return [_info(post) for post in posts]
