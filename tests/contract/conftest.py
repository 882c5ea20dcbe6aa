"""The contract suites run against every implementation of the domain interfaces.

Each list below names the fixtures that build one implementation. Today that is the SQL
implementations the cart installs (services/); an HTTP client of the events, market or blog
service would be one more fixture named here (starting or pointing at that service over the
same test database), and must pass the same tests unchanged.
"""

from __future__ import annotations

import pytest

from services.sql_blog import SqlBlogService
from services.sql_calendar import SqlCalendarService
from services.sql_market import SqlMarketService
from shared.interfaces import BlogService, CalendarService, MarketService

CALENDAR_IMPLEMENTATIONS = ["sql_calendar"]
MARKET_IMPLEMENTATIONS = ["sql_market"]
BLOG_IMPLEMENTATIONS = ["sql_blog"]


@pytest.fixture
def sql_calendar() -> CalendarService:
    return SqlCalendarService()


@pytest.fixture
def sql_market() -> MarketService:
    return SqlMarketService()


@pytest.fixture
def sql_blog() -> BlogService:
    return SqlBlogService()


@pytest.fixture(params=CALENDAR_IMPLEMENTATIONS)
def calendar(request: pytest.FixtureRequest) -> CalendarService:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(params=MARKET_IMPLEMENTATIONS)
def market(request: pytest.FixtureRequest) -> MarketService:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(params=BLOG_IMPLEMENTATIONS)
def blog(request: pytest.FixtureRequest) -> BlogService:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]
