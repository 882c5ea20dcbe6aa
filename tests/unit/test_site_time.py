"""Dates and times read in the site's time zone, with the zone of that moment: across the
clock changes (the last Sundays of March and October in London), from the naive UTC times
SQLite gives back and the aware ones PostgreSQL gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bp.cart.services.slot_time import format_moment, format_slot_time, site_time

LONDON = ZoneInfo("Europe/London")


def slot(starts: datetime, ends: datetime | None, zone: ZoneInfo = LONDON) -> str:
    return format_slot_time(starts, ends, locale="en_GB", time_zone=zone)


@pytest.mark.parametrize("aware", [False, True], ids=["naive (SQLite)", "aware (PostgreSQL)"])
@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        # Sunday 29 March 2026: at 01:00 UTC London goes from GMT to BST.
        (datetime(2026, 3, 29, 0, 59), "29 Mar 2026, 00:59 GMT"),
        (datetime(2026, 3, 29, 1, 0), "29 Mar 2026, 02:00 BST"),
        # Sunday 25 October 2026: at 01:00 UTC back to GMT (01:00-02:00 BST happens twice).
        (datetime(2026, 10, 25, 0, 59), "25 Oct 2026, 01:59 BST"),
        (datetime(2026, 10, 25, 1, 0), "25 Oct 2026, 01:00 GMT"),
        (datetime(2030, 1, 1, 12, 0), "1 Jan 2030, 12:00 GMT"),
    ],
)
def test_a_moment_is_shown_in_the_sites_zone_with_its_abbreviation_then(
    utc: datetime, shown: str, aware: bool
) -> None:
    moment = utc.replace(tzinfo=UTC) if aware else utc

    assert format_moment(moment, locale="en_GB", time_zone=LONDON) == shown


def test_an_aware_time_in_another_zone_is_converted_not_relabelled() -> None:
    new_york_morning = datetime(2030, 5, 4, 6, 0, tzinfo=timezone(timedelta(hours=-4)))

    assert site_time(new_york_morning, LONDON) == datetime(2030, 5, 4, 11, 0, tzinfo=LONDON)
    assert format_moment(new_york_morning, locale="en_GB", time_zone=LONDON) == (
        "4 May 2030, 11:00 BST"
    )


@pytest.mark.parametrize("aware", [False, True], ids=["naive (SQLite)", "aware (PostgreSQL)"])
def test_a_slot_reads_in_winter_and_summer_time(aware: bool) -> None:
    def utc(*parts: int) -> datetime:
        moment = datetime(*parts)  # type: ignore[arg-type]
        return moment.replace(tzinfo=UTC) if aware else moment

    assert slot(utc(2026, 12, 5, 10), utc(2026, 12, 5, 12)) == "Sat 5 Dec 2026, 10:00–12:00 GMT"
    assert slot(utc(2030, 5, 4, 10), utc(2030, 5, 4, 13)) == "Sat 4 May 2030, 11:00–14:00 BST"
    assert slot(utc(2030, 5, 4, 10), None) == "Sat 4 May 2030, 11:00 BST"


def test_a_slot_across_the_clock_change_names_both_zones() -> None:
    spring = slot(datetime(2026, 3, 29, 0, 30), datetime(2026, 3, 29, 2, 30))
    autumn = slot(datetime(2026, 10, 24, 22, 0), datetime(2026, 10, 25, 3, 0))

    assert spring == "Sun 29 Mar 2026, 00:30 GMT – 03:30 BST"
    assert autumn == "Sat 24 Oct 2026, 23:00 BST – Sun 25 Oct 2026, 03:00 GMT"


def test_the_day_is_the_sites_day_not_utcs() -> None:
    # 23:30-00:30 UTC in summer is 00:30-01:30 in London: one day there, two in UTC.
    assert (
        slot(datetime(2030, 5, 4, 23, 30), datetime(2030, 5, 5, 0, 30))
        == "Sun 5 May 2030, 00:30–01:30 BST"
    )
    # A slot that runs past midnight in London gives the end's day.
    assert (
        slot(datetime(2026, 12, 5, 22, 0), datetime(2026, 12, 6, 2, 0))
        == "Sat 5 Dec 2026, 22:00 – Sun 6 Dec 2026, 02:00 GMT"
    )


def test_another_site_zone_and_locale() -> None:
    paris = ZoneInfo("Europe/Paris")

    assert slot(datetime(2030, 5, 4, 10), datetime(2030, 5, 4, 13), paris) == (
        "Sat 4 May 2030, 12:00–15:00 CEST"
    )
    assert format_moment(datetime(2030, 5, 4, 10), locale="de_DE", time_zone=paris) == (
        "4 Mai 2030, 12:00 CEST"
    )
