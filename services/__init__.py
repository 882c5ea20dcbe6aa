"""Wires the other domains' SQL implementations into the shared registry."""

from __future__ import annotations

from services.sql_blog import SqlBlogService
from services.sql_calendar import SqlCalendarService
from services.sql_market import SqlMarketService
from shared.registry import services


def register_domain_services() -> None:
    """Install the implementations that read the shared database (idempotent)."""
    services.install(
        calendar=SqlCalendarService(), market=SqlMarketService(), blog=SqlBlogService()
    )
