"""A shopper in the browser: goes to pages, presses buttons, follows links; every page it
lands on goes through checks.py before the journey looks at it."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, Response

from tests.e2e.checks import (
    DESKTOP,
    PHONE,
    PageReport,
    Record,
    describe_violations,
    horizontal_overflow,
    run_axe,
    tab_through,
)
from tests.e2e.server import DemoServer

Name = str | re.Pattern[str]
# The open_shopper fixture: open_shopper(kind=Shopper, javascript=True) -> a new shopper.
ShopperFactory = Callable[..., "Shopper"]


class Shopper:
    def __init__(
        self,
        page: Page,
        *,
        server: DemoServer,
        record: Record,
        journey: str,
        artifacts: Path,
    ) -> None:
        self.page = page
        self.server = server
        self.record = record
        self.journey = journey
        self.artifacts = artifacts

    # --- where the shopper is -----------------------------------------------------------

    @property
    def path(self) -> str:
        return urlsplit(self.page.url).path

    @property
    def main(self) -> Locator:
        return self.page.locator("main")

    @property
    def nav(self) -> Locator:
        """The site's navigation (Shops, Cart, Your orders)."""
        return self.page.get_by_role("navigation", name="Site")

    def button(self, name: Name) -> Locator:
        return self.page.get_by_role("button", name=name, exact=isinstance(name, str))

    def link(self, name: Name) -> Locator:
        return self.page.get_by_role("link", name=name, exact=isinstance(name, str))

    # --- what the shopper does ----------------------------------------------------------

    def visit(self, path: str, label: str) -> None:
        """Types the address in: a GET of one of the server's pages."""
        response = self.page.goto(self.server.url + path)
        self._landed(response, label)

    def press(
        self, name: Name, label: str, *, within: Locator | None = None, refused: bool = False
    ) -> None:
        """Clicks a button that submits a form, and lands on the page it leads to (with
        `refused`, the form's own page again, sent back with its errors: a 400)."""
        target = (within or self.page).get_by_role("button", name=name, exact=isinstance(name, str))
        with self.page.expect_navigation() as navigation:
            target.click()
        self._landed(navigation.value, label, refused=refused)

    def follow(self, name: Name, label: str, *, within: Locator | None = None) -> None:
        target = (within or self.page).get_by_role("link", name=name, exact=isinstance(name, str))
        with self.page.expect_navigation() as navigation:
            target.click()
        self._landed(navigation.value, label)

    def screenshot(self, name: str, *, readme: bool = False) -> None:
        """The page at 390×844 and at 1280×800, whole, into the artifacts folder. With
        `readme`, and E2E_SCREENSHOTS_DIR set (`make screenshots`: docs/screenshots), also
        as <name>-phone.png and <name>-desktop.png, the README's pictures."""
        readme_dir = os.environ.get("E2E_SCREENSHOTS_DIR") if readme else None
        for size, device in ((PHONE, "phone"), (DESKTOP, "desktop")):
            self.page.set_viewport_size(size)
            target = self.artifacts / f"{name}-{size['width']}x{size['height']}.png"
            self.page.screenshot(path=target, full_page=True)
            self.record.screenshots.append(target)
            if readme_dir:
                shown = Path(readme_dir) / f"{name}-{device}.png"
                shown.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(target, shown)
                self.record.screenshots.append(shown)
        self.page.set_viewport_size(PHONE)

    # --- the checks on every page -------------------------------------------------------

    def _landed(self, response: Response | None, label: str, *, refused: bool = False) -> None:
        assert response is not None, f"{label}: no response"
        assert (response.status == 400) if refused else (response.status < 400), (
            f"{label}: {response.status} for {response.url}\n{self.main.inner_text()[:500]}"
        )
        self.check(label)

    def check(self, label: str) -> None:
        report = PageReport(journey=self.journey, label=label, path=self.path)

        axe = self._axe()
        report.axe_rules, report.axe_version = axe["rules"], axe["version"]
        assert not axe["violations"], (
            f"{label} ({self.path}): axe-core found WCAG 2.1 A/AA violations:\n"
            + describe_violations(axe["violations"])
        )

        scroll_width, client_width = horizontal_overflow(self.page)
        assert scroll_width <= client_width, (
            f"{label} ({self.path}): scrolls sideways at 390 px "
            f"(scrollWidth {scroll_width} > clientWidth {client_width})"
        )

        stops = tab_through(self.page)
        assert stops, f"{label} ({self.path}): Tab reached nothing"
        problems = [f"{stop.element}: {stop.problem}" for stop in stops if stop.problem]
        assert not problems, f"{label} ({self.path}): focus indicator:\n" + "\n".join(problems)
        report.focus_stops = len(stops)
        report.min_focus_contrast = min(stop.contrast for stop in stops)

        self.record.pages.append(report)

    def _axe(self) -> dict[str, Any]:
        return run_axe(self.page, self.server.url)


class KeyboardShopper(Shopper):
    """Uses the keyboard only: Tab and Shift+Tab to move, Enter to press or follow."""

    MAX_PRESSES = 80

    def focused_name(self) -> str:
        name = self.page.evaluate(
            "() => { const el = document.activeElement; if (!el) return '';"
            " const label = el.labels && el.labels.length ? el.labels[0].innerText : '';"
            " return el.getAttribute('aria-label') || label || el.innerText || ''; }"
        )
        return " ".join(str(name).split())

    def tab_to(self, name: Name, *, backwards: bool = False) -> None:
        key = "Shift+Tab" if backwards else "Tab"
        went = []
        for _ in range(self.MAX_PRESSES):
            self.page.keyboard.press(key)
            now = self.focused_name()
            went.append(now)
            if name.fullmatch(now) if isinstance(name, re.Pattern) else now == name:
                return
        raise AssertionError(f"{key} never reached {name!r} on {self.path}; it went: {went}")

    def enter(self, label: str) -> None:
        with self.page.expect_navigation() as navigation:
            self.page.keyboard.press("Enter")
        self._landed(navigation.value, label)


class NoScriptShopper(Shopper):
    """A browser with JavaScript off. axe-core cannot run in it, so each page it gets is
    shown, exactly as served to it (the same URL, the same HTML, the site's real CSS), in a
    page with JavaScript on, and axe runs there; the other checks run in the page itself."""

    def __init__(self, page: Page, *, replay: Page, **kwargs: Any) -> None:
        super().__init__(page, **kwargs)
        self.replay = replay

    def _axe(self) -> dict[str, Any]:
        html, url = self.page.content(), self.page.url
        self.replay.route(
            lambda address: address == url,
            lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=html
            ),
            times=1,
        )
        self.replay.goto(url)
        return run_axe(self.replay, self.server.url)
