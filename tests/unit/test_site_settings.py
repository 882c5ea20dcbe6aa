"""The site's settings (SITE_*): who runs the shop, its contact and terms, its time zone, and
where production's header signs shoppers in and out. Each checked at start-up."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.config import ConfigError, load_settings


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CART_VAR_DIR": str(tmp_path / "var"), **values}


def test_the_defaults_name_the_coop_in_london_and_show_no_contact_or_terms(
    tmp_path: Path,
) -> None:
    site = load_settings(_env(tmp_path)).site

    assert site.name == "The Co-op"
    assert site.time_zone == ZoneInfo("Europe/London")
    assert site.contact_email == "" and site.terms_url == ""
    # The blog's pages, from app_urls.blog in config/app-config.yaml.
    assert site.sign_in_url == "http://127.0.0.1:8000/auth/login/"
    assert site.sign_out_url == "http://127.0.0.1:8000/auth/logout/"


def test_each_site_setting_comes_from_the_environment(tmp_path: Path) -> None:
    site = load_settings(
        _env(
            tmp_path,
            SITE_NAME="Riverside Food Co-op",
            SITE_CONTACT_EMAIL="shop@riverside.example",
            SITE_TERMS_URL="https://riverside.example/terms",
            SITE_TIME_ZONE="America/New_York",
            SITE_SIGN_IN_URL="https://riverside.example/login",
            SITE_SIGN_OUT_URL="https://riverside.example/logout",
        )
    ).site

    assert site.name == "Riverside Food Co-op"
    assert site.contact_email == "shop@riverside.example"
    assert site.terms_url == "https://riverside.example/terms"
    assert site.time_zone == ZoneInfo("America/New_York")
    assert (site.sign_in_url, site.sign_out_url) == (
        "https://riverside.example/login",
        "https://riverside.example/logout",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SITE_TIME_ZONE", "Mars/Olympus_Mons"),
        ("SITE_TIME_ZONE", "../../etc/passwd"),
        ("SITE_CONTACT_EMAIL", "not an address"),
        ("SITE_CONTACT_EMAIL", "shop@coop.example?subject=x"),
        ("SITE_NAME", "two\nlines"),
        ("SITE_NAME", "x" * 81),
        ("SITE_TERMS_URL", "javascript:alert(1)"),
        ("SITE_SIGN_OUT_URL", "/relative/logout"),
    ],
)
def test_a_bad_site_setting_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env(tmp_path, **{name: value}))

    message = str(raised.value)
    assert message.startswith(name) and "\n" not in message
