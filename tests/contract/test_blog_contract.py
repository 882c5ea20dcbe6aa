"""BlogService contract: the pages every shop belongs to."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import BlogService, PageInfo
from tests.conftest import QueryCounter
from tests.factories import Factory


async def test_page_by_slug_and_by_id_return_the_page_or_none(
    blog: BlogService, factory: Factory, db: AsyncSession
) -> None:
    page = await factory.page(slug="allotment", title="The allotment")
    await factory.page(slug="bakery", title="The bakery")
    expected = PageInfo(id=page.id, slug="allotment", title="The allotment")

    assert await blog.page_by_slug(db, "allotment") == expected
    assert await blog.page_by_id(db, page.id) == expected
    assert await blog.page_by_slug(db, "no-such-page") is None
    assert await blog.page_by_id(db, page.id + 1000) is None


async def test_a_slug_with_a_nul_names_no_page_and_is_no_error(
    blog: BlogService, factory: Factory, db: AsyncSession
) -> None:
    await factory.page(slug="bakery", title="The bakery")

    # PostgreSQL refuses a NUL in a query's text: the fuzz test found it a 500 on /shop/.
    assert await blog.page_by_slug(db, "bakery\x00") is None
    assert await blog.page_by_slug(db, "\x00") is None


async def test_pages_by_ids_fetches_many_in_one_query_and_skips_unknown_ids(
    blog: BlogService, factory: Factory, db: AsyncSession, query_counter: QueryCounter
) -> None:
    pages = [await factory.page() for _ in range(3)]
    wanted = {pages[0].id, pages[2].id}
    query_counter.reset()

    found = await blog.pages_by_ids(db, [*wanted, 999_999])

    assert query_counter.count == 1
    assert found == {
        page.id: PageInfo(id=page.id, slug=page.slug, title=page.title)
        for page in pages
        if page.id in wanted
    }
    assert await blog.pages_by_ids(db, []) == {}


async def test_list_pages_lists_every_page(
    blog: BlogService, factory: Factory, db: AsyncSession
) -> None:
    pages = [await factory.page(title=title) for title in ("Zinnias", "Apples", "Mushrooms")]

    listed = await blog.list_pages(db)

    assert sorted(listed, key=lambda page: page.id) == [
        PageInfo(id=page.id, slug=page.slug, title=page.title) for page in pages
    ]
