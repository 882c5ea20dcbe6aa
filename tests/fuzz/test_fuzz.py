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

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import timed
from tests.fuzz.shop import Shop
from tests.fuzz.strategies import fuzz_settings, strategies_for


@fuzz_settings(700)
@given(data=st.data())
async def test_every_route_and_method_survives_odd_requests(shop: Shop, data: Any) -> None:
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
