"""Property-based fuzzing of every route, every form and the webhook (issue 8).

Each test seeds the small shop of shop.py, then sends requests drawn by strategies.py, one
an example, each from the seeded data (put back after any request that changed it), and
checks the invariants of harness.py: no 5xx, no answer hypercorn cannot send, no trace in an
answer or the log, and no change to stored data by a refused request.

The examples are derandomized (the same ones every run) and their number is sized so that
the folder takes about a minute on SQLite on a 2-core machine; FUZZ_EXAMPLES_SCALE (a
factor, e.g. 5) runs more of them for a longer hunt. A failure is shrunk to a minimal
request and printed as it would go on the wire.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import STATS, timed
from tests.fuzz.shop import Shop
from tests.fuzz.strategies import strategies_for

SCALE = float(os.environ.get("FUZZ_EXAMPLES_SCALE", "1"))
# FUZZ_SHRINK=0 reports each failure as first met, without shrinking it (a quicker survey).
PHASES = tuple(
    p for p in Phase if os.environ.get("FUZZ_SHRINK", "1") != "0" or p is not Phase.shrink
)


def fuzz_settings(examples: int) -> Any:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        phases=PHASES,
        # One shop for all the examples of a test is the point: it is put back after each
        # request that changed it. Slow or large draws are expected of odd requests.
        suppress_health_check=list(HealthCheck),
    )


@fuzz_settings(900)
@given(data=st.data())
async def test_every_route_and_method_survives_odd_requests(shop: Shop, data: Any) -> None:
    STATS.routes = len(strategies_for(shop).rules)
    with timed("every route and method"):
        await shop.run(data.draw(strategies_for(shop).route_requests, label="request"))


@fuzz_settings(700)
@given(data=st.data())
async def test_every_rendered_form_survives_being_tampered_with(shop: Shop, data: Any) -> None:
    with timed("every rendered form"):
        await shop.run(data.draw(strategies_for(shop).form_requests, label="request"))


@fuzz_settings(500)
@given(data=st.data())
async def test_webhook_and_sandbox_api_survive_odd_json(shop: Shop, data: Any) -> None:
    with timed("webhook and sandbox API"):
        await shop.run(data.draw(strategies_for(shop).json_requests, label="request"))


@fuzz_settings(200)
@given(data=st.data())
async def test_odd_next_and_referer_never_break_a_redirect(shop: Shop, data: Any) -> None:
    with timed("next and Referer of every form"):
        await shop.run(data.draw(strategies_for(shop).redirect_requests, label="request"))
