"""How dates and times read: a booking's slot (the cart's pages, its flashes, the order's copy
of its title) and a moment such as when an order was placed.

Times are stored in UTC: aware on PostgreSQL, naive on SQLite (which keeps no zone), so a
naive one is taken as UTC. They are shown in the site's time zone (SITE_TIME_ZONE), with the
zone's abbreviation at that moment ("GMT" in winter, "BST" in summer for Europe/London): a
booking is a time to turn up somewhere, and a shopper abroad must not be an hour out.

Pure (babel and the standard library only): the bench's baseline loads this file on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from babel.dates import format_datetime, format_time

_DAY_AND_TIME = "EEE d MMM y, HH:mm"
_DATE_AND_TIME = "d MMM y, HH:mm"


def site_time(moment: datetime, time_zone: tzinfo) -> datetime:
    """`moment` (UTC; naive is taken as UTC) as the wall-clock time in `time_zone`."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return utc.astimezone(time_zone)


def _zone(local: datetime) -> str:
    # The abbreviation in force at that moment (zoneinfo's, not the locale's: "BST", not
    # "GMT+1"); zones that have none read as their offset, e.g. "+04".
    return local.tzname() or ""


def _with_zone(text: str, local: datetime) -> str:
    zone = _zone(local)
    return f"{text} {zone}" if zone else text


def format_moment(moment: datetime, *, locale: str, time_zone: tzinfo) -> str:
    """'4 May 2030, 11:00 BST': when an order was placed, paid, a payment started."""
    local = site_time(moment, time_zone)
    return _with_zone(
        format_datetime(local, _DATE_AND_TIME, tzinfo=time_zone, locale=locale), local
    )


def format_slot_time(
    starts_at: datetime, ends_at: datetime | None, *, locale: str, time_zone: tzinfo
) -> str:
    """'Sat 5 Dec 2026, 10:00–12:00 GMT': the end's date is left out when it is the same
    day there, and the zone is said once unless the clocks change in between
    ('Sun 29 Mar 2026, 00:30 GMT – 03:30 BST')."""
    start = site_time(starts_at, time_zone)
    start_text = format_datetime(start, _DAY_AND_TIME, tzinfo=time_zone, locale=locale)
    if ends_at is None:
        return _with_zone(start_text, start)
    end = site_time(ends_at, time_zone)
    same_day = end.date() == start.date()
    if same_day:
        end_text = format_time(end, "HH:mm", tzinfo=time_zone, locale=locale)
    else:
        end_text = format_datetime(end, _DAY_AND_TIME, tzinfo=time_zone, locale=locale)
    if _zone(start) != _zone(end):
        return f"{_with_zone(start_text, start)} – {_with_zone(end_text, end)}"
    if same_day:
        return _with_zone(f"{start_text}–{end_text}", end)
    return _with_zone(f"{start_text} – {end_text}", end)
