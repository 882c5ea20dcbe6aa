"""The cart summary the other services' navigation badge reads (GET /cart/summary.json)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bp.cart.services.totals import Overview, Section

Formatter = Callable[[int, str], str]


def summary(overview: Overview, *, format_money: Formatter) -> dict[str, Any]:
    """{"item_count", "pages": [{"slug", "title", "item_count", "totals"}], "site"}."""
    return {
        "item_count": overview.item_count,
        "pages": [
            {
                "slug": section.page.slug if section.page else None,
                "title": section.page.title if section.page else None,
                "item_count": section.item_count,
                "totals": _totals(section.totals, format_money),
            }
            for section in overview.pages
        ],
        "site": _site(overview.site, format_money),
    }


def _site(section: Section | None, format_money: Formatter) -> dict[str, Any] | None:
    if section is None:
        return None
    return {
        "item_count": section.item_count,
        "totals": _totals(section.totals, format_money),
    }


def _totals(totals: Mapping[str, int], format_money: Formatter) -> list[dict[str, Any]]:
    return [
        {"currency": currency, "amount_minor": minor, "formatted": format_money(minor, currency)}
        for currency, minor in totals.items()
    ]
