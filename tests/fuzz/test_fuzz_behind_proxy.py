"""The fuzz of every route, behind one trusted reverse proxy (TRUSTED_PROXY_HOPS=1): the
scheme, host and client address then come from X-Forwarded-Proto, -Host and -For, which
reach the CSRF origin check, redirects and the logs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import Settings
from tests.fuzz.harness import timed
from tests.fuzz.shop import Shop
from tests.fuzz.strategies import fuzz_settings, strategies_for


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(trusted_proxy_hops=1)


@fuzz_settings(250)
@given(data=st.data())
async def test_every_route_behind_a_trusted_proxy_survives_odd_forwarded_headers(
    shop: Shop, data: Any
) -> None:
    with timed("every route behind a proxy"):
        await shop.run(data.draw(strategies_for(shop).proxied_requests, label="request"))
