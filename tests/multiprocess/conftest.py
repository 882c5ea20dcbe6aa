"""The several-process checks' harness: collected only by `make test-multiprocess`
(CART_MULTIPROCESS=1), run only on PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL),
skipped otherwise. Their figures (counts and times) are printed at the end of the run, so
that CI's log can be quoted.

The database's `public` schema is dropped and made again, as `make test` does: give it one
of its own (CI: test_multiprocess).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

ENABLED = os.environ.get("CART_MULTIPROCESS") == "1"
if not ENABLED:
    collect_ignore_glob = ["*"]

DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or ""
REDIS_URL = os.environ.get("TEST_REDIS_URL") or ""
ON_POSTGRES_AND_REDIS = (
    bool(DATABASE_URL)
    and make_url(DATABASE_URL).get_backend_name() == "postgresql"
    and bool(REDIS_URL)
)
FIGURES_KEY = pytest.StashKey[list[str]]()
CLUSTER_KEY = pytest.StashKey[Any]()


def pytest_report_header(config: pytest.Config) -> str | None:
    if not ENABLED:
        return "tests/multiprocess: several processes run through `make test-multiprocess`"
    if not ON_POSTGRES_AND_REDIS:
        return (
            "tests/multiprocess: skipped, they need TEST_DATABASE_URL (PostgreSQL) "
            "and TEST_REDIS_URL"
        )
    return None


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    found: list[str] = []
    request.config.stash[FIGURES_KEY] = found
    yield found


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(FIGURES_KEY, None)
    if found:
        terminalreporter.section("several processes, one database: figures")
        for line in found:
            terminalreporter.write_line(line)
    running = config.stash.get(CLUSTER_KEY, None)
    if running is not None and exitstatus not in (0, 5):
        terminalreporter.section("the processes' logs (last lines)")
        terminalreporter.write_line(running.logs())
