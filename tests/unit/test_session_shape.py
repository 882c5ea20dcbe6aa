"""A shared-session key of a shape this service cannot use is dropped, never a 500."""

from __future__ import annotations

import pytest

from shared.session_shape import FLASHES_KEY


@pytest.mark.parametrize(
    "flashes",
    [True, None, 3, "text", {"a": "b"}, [1, 2], [["only-one"]], [["a", 1]], [[None, "m"]]],
)
async def test_a_malformed_flashes_value_is_dropped_and_pages_render(client, flashes) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session[FLASHES_KEY] = flashes
        session["csrf_token"] = "t" * 32

    page = await client.get("/cart/")
    posted = await client.post("/cart/add", form={"product_id": "1", "csrf_token": "t" * 32})

    assert page.status_code == 200
    assert posted.status_code < 500


async def test_well_formed_flashes_are_kept(client) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        session[FLASHES_KEY] = [["success", "Kept message."]]

    page = await client.get("/cart/")

    assert "Kept message." in await page.get_data(as_text=True)
