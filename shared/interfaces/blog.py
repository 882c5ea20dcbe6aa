from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class PageInfo:
    id: int
    slug: str
    title: str


class BlogService(Protocol):
    async def page_by_slug(self, session: AsyncSession, slug: str) -> PageInfo | None: ...

    async def page_by_id(self, session: AsyncSession, page_id: int) -> PageInfo | None: ...

    async def pages_by_ids(
        self, session: AsyncSession, page_ids: Iterable[int]
    ) -> dict[int, PageInfo]:
        """All the pages asked for that exist, in one query."""
        ...

    async def list_pages(self, session: AsyncSession) -> list[PageInfo]: ...

    async def user_name(self, session: AsyncSession, user_id: int) -> str | None:
        """The name a signed-in user goes by (the header's "Signed in as"); None if unknown."""
        ...
