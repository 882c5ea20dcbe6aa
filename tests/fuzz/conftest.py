"""The fuzz tests' shop (seeded once per test) and their closing line: how many requests
went to the app, over how many routes, in how long."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import PROJECT_ROOT, Settings
from tests.factories import Factory
from tests.fuzz.harness import STATS
from tests.fuzz.shop import Shop, seed_shop

# Hypothesis keeps a cache of its own (constants read from the code); under var/, which git
# ignores, rather than a .hypothesis folder in the checkout. No example database is kept.
set_hypothesis_home_dir(str(PROJECT_ROOT / "var" / "hypothesis"))


@pytest.fixture
async def shop(app, client, factory: Factory, engine: AsyncEngine, settings: Settings) -> Shop:  # type: ignore[no-untyped-def]
    return await seed_shop(app, client, factory, engine, settings)


@pytest.fixture(autouse=True)
def quieter_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """Hundreds of requests a test: a failure's report shows the warnings, not every INFO
    line (the harness reads every record itself, whatever its level)."""
    if request.config.pluginmanager.has_plugin("logging"):
        request.getfixturevalue("caplog").handler.setLevel(logging.WARNING)
    streams = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    levels = [h.level for h in streams]
    for handler in streams:
        handler.setLevel(logging.WARNING)
    yield
    for handler, level in zip(streams, levels, strict=True):
        handler.setLevel(level)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not STATS.per_test:
        return
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(STATS.statuses.items()))
    terminalreporter.write_sep("-", "fuzz")
    for name, count in STATS.per_test.items():
        terminalreporter.write_line(f"{name}: {count} requests in {STATS.seconds[name]:.1f} s")
    terminalreporter.write_line(
        f"fuzz: {STATS.requests} requests to the app over {STATS.routes} routes "
        f"({len(STATS.endpoints)} endpoint/method kinds seen), "
        f"{STATS.refused_by_http_layer} more refused by the HTTP layer first; "
        f"statuses {statuses}"
    )
    for kind, (count, failed, request) in STATS.failures.items():
        terminalreporter.write_sep("-", f"fuzz survey: {kind} ({count} requests)")
        terminalreporter.write_line(f"{failed}\nshortest request:{request!r}")
