"""A static path no filesystem can hold is a 404, not a 500 (found by the fuzz test)."""

from __future__ import annotations


async def test_a_static_name_too_long_for_the_filesystem_is_not_found(client) -> None:  # type: ignore[no-untyped-def]
    too_long = await client.get("/static/" + "a" * 256)
    nested = await client.get("/static/x/" + "b" * 300 + "/c.css")
    ours = await client.get("/static/cart.css")

    assert (too_long.status_code, nested.status_code) == (404, 404)
    assert ours.status_code == 200
