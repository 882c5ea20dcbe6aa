"""The registry of other domains: `services.calendar`, `services.market`, `services.blog`.

The cart code calls these interfaces only. Which implementation answers is decided in one
place, `services.register_domain_services()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from shared.interfaces import BlogService, CalendarService, MarketService

T = TypeVar("T")


class ServiceNotRegistered(RuntimeError):
    pass


@dataclass
class DomainServices:
    _calendar: CalendarService | None = None
    _market: MarketService | None = None
    _blog: BlogService | None = None

    def install(
        self, *, calendar: CalendarService, market: MarketService, blog: BlogService
    ) -> None:
        self._calendar, self._market, self._blog = calendar, market, blog

    @property
    def calendar(self) -> CalendarService:
        return _required(self._calendar, "calendar")

    @property
    def market(self) -> MarketService:
        return _required(self._market, "market")

    @property
    def blog(self) -> BlogService:
        return _required(self._blog, "blog")


def _required(service: T | None, name: str) -> T:
    if service is None:
        raise ServiceNotRegistered(f"services.{name}: call register_domain_services() first")
    return service


services = DomainServices()
