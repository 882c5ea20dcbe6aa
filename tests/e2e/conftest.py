"""The browser journeys' harness: one server and one Chromium for the run, a new browser
context (a new shopper, with its own cookies) for each journey.

`make test` runs pytest over tests/ and must not pick these up: they need Chromium, the e2e
extra (Playwright) and node_modules/axe-core, which `make test-e2e` installs before it runs
them with CART_E2E=1. Without it, this folder is not collected, and nothing here imports
Playwright at load time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from shared.config import PROJECT_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

    from tests.e2e.checks import Record
    from tests.e2e.server import DemoServer
    from tests.e2e.shopper import ShopperFactory

E2E_ENABLED = os.environ.get("CART_E2E") == "1"
if not E2E_ENABLED:
    collect_ignore_glob = ["*"]


def pytest_report_header(config: pytest.Config) -> str | None:
    # Shown when this folder is named on the command line (pytest tests/e2e).
    if E2E_ENABLED:
        return None
    return "tests/e2e: the browser journeys run through `make test-e2e` (CART_E2E=1)"


CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RECORD_KEY = pytest.StashKey["Record"]()
SERVER_KEY = pytest.StashKey["DemoServer"]()
FAILED_KEY = pytest.StashKey[bool]()


def _artifacts_root() -> Path:
    return Path(os.environ.get("E2E_ARTIFACTS_DIR") or PROJECT_ROOT / "var" / "e2e")


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[DemoServer]:
    from tests.e2e.server import demo_server

    with demo_server(
        tmp_path_factory.mktemp("e2e-server"),
        database_url=os.environ.get("TEST_DATABASE_URL") or None,
        redis_url=os.environ.get("TEST_REDIS_URL") or None,
    ) as running:
        request.config.stash[SERVER_KEY] = running
        yield running


@pytest.fixture(scope="session")
def record(server: DemoServer, request: pytest.FixtureRequest) -> Record:
    from tests.e2e.checks import Record

    label = server.database + ("+redis" if server.redis_url else "")
    found = Record(database=label)
    request.config.stash[RECORD_KEY] = found
    return found


@pytest.fixture(scope="session")
def artifacts(server: DemoServer) -> Path:
    """var/e2e/<database>/: screenshots of this run only."""
    folder = _artifacts_root() / server.database
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def new_context(browser: Browser, server: DemoServer, **options: Any) -> BrowserContext:
    from tests.e2e.checks import AXE_PATH, AXE_SOURCE, PHONE

    if not AXE_SOURCE.exists():
        pytest.fail(f"{AXE_SOURCE} is missing: npm ci (make test-e2e does)")
    context = browser.new_context(viewport=PHONE, **options)
    context.set_default_timeout(15_000)
    context.route(
        server.url + AXE_PATH,
        lambda route: route.fulfill(path=AXE_SOURCE, content_type="text/javascript"),
    )
    return context


@pytest.fixture
def open_shopper(
    browser: Browser,
    server: DemoServer,
    record: Record,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> Iterator[ShopperFactory]:
    """new(kind=Shopper, javascript=True): a shopper with a browser of their own."""
    from tests.e2e.shopper import NoScriptShopper, Shopper

    contexts: list[BrowserContext] = []

    def new(kind: type[Shopper] = Shopper, *, javascript: bool = True) -> Shopper:
        context = new_context(browser, server, java_script_enabled=javascript)
        contexts.append(context)
        common = {
            "server": server,
            "record": record,
            "journey": request.node.name,
            "artifacts": artifacts,
        }
        if kind is NoScriptShopper:
            replay = new_context(browser, server)
            contexts.append(replay)
            return NoScriptShopper(context.new_page(), replay=replay.new_page(), **common)
        return kind(context.new_page(), **common)

    yield new
    if request.node.stash.get(FAILED_KEY, False):
        failures = artifacts / "failures"
        failures.mkdir(exist_ok=True)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                page.screenshot(path=failures / f"{request.node.name}-{n}-{m}.png", full_page=True)
    for context in contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED_KEY] = True
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(RECORD_KEY, None)
    if found is not None and found.pages:
        write = terminalreporter.write_line
        terminalreporter.section(f"browser journeys on {found.database}")
        version = found.pages[0].axe_version
        rules = found.pages[0].axe_rules
        write(
            f"{len(found.pages)} pages checked: axe-core {version} ({rules} WCAG 2.1 A/AA "
            "rules), no horizontal scrolling at 390 px, focus indicator contrast >= 3:1"
        )
        journey = None
        for page in found.pages:
            if page.journey != journey:
                journey = page.journey
                write(f"{journey}:")
            contrast = (
                f"{page.min_focus_contrast:.2f}:1" if page.min_focus_contrast is not None else "-"
            )
            write(
                f"  {page.label:<44} {page.path:<36} axe: 0 violations; "
                f"{page.focus_stops:>2} focus stops, lowest contrast {contrast}"
            )
        folders = sorted({str(shot.parent) for shot in found.screenshots})
        write(f"screenshots: {len(found.screenshots)} in {', '.join(folders) or '-'}")
    server = config.stash.get(SERVER_KEY, None)
    if server is not None and exitstatus not in (0, 5):
        terminalreporter.section("server log (last lines)")
        terminalreporter.write_line(server.log_tail())
