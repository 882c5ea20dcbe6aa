"""The fuzz harness fails on what it is meant to fail on: routes made to break each invariant
are added to a fresh app, and each must be caught (a fuzz test that cannot fail is a defect)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from quart import redirect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.config import Settings
from shared.db import get_session
from shared.models import User
from tests.fuzz.harness import FuzzFailure, FuzzRequest
from tests.fuzz.shop import HOST, Shop

log = logging.getLogger("tests.fuzz.broken_routes")


@pytest.fixture
async def broken(app, engine: AsyncEngine, settings: Settings) -> Shop:  # type: ignore[no-untyped-def]
    quart_app = app.app

    @quart_app.get("/_fuzz/fine")
    async def fine() -> Any:
        return "fine"

    @quart_app.get("/_fuzz/boom")
    async def boom() -> Any:
        raise RuntimeError("boom")

    @quart_app.get("/_fuzz/location")
    async def location() -> Any:
        return redirect("/cart/\x0b")

    @quart_app.get("/_fuzz/trace")
    async def trace() -> Any:
        return 'Traceback (most recent call last):\n  File "x.py", line 1', 200

    @quart_app.get("/_fuzz/logged")
    async def logged() -> Any:
        log.error("something broke")
        return "fine"

    @quart_app.get("/_fuzz/refused-after-writing")
    async def refused_after_writing() -> Any:
        db = get_session()
        db.add(User(email="written@example.org", display_name="Written"))
        await db.commit()
        return "no", 404

    @quart_app.get("/_fuzz/written")
    async def written() -> Any:
        db = get_session()
        db.add(User(email="kept@example.org", display_name="Kept"))
        await db.commit()
        return "yes", 200

    shop = Shop(quart_app, engine, settings, personas={}, values={}, forms=[])
    await shop.save()
    return shop


def get(path: str) -> FuzzRequest:
    return FuzzRequest("GET", path, (("Host", HOST),))


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/_fuzz/boom", "status 500"),
        ("/_fuzz/location", "an answer hypercorn cannot send"),
        ("/_fuzz/trace", "a trace in the answer"),
        ("/_fuzz/logged", "an error or trace in the log"),
        ("/_fuzz/refused-after-writing", "a refused request changed stored data"),
    ],
)
async def test_each_broken_invariant_fails_the_fuzz(broken: Shop, path: str, kind: str) -> None:
    with pytest.raises(FuzzFailure) as failed:
        await broken.run(get(path))
    assert str(failed.value).startswith(kind), str(failed.value)


async def test_a_malformed_host_refused_by_the_http_layer_never_reaches_the_app(
    broken: Shop,
) -> None:
    request = FuzzRequest("GET", "/_fuzz/boom", (("Host", "a\x0bb"),))
    assert await broken.run(request) is None


async def test_what_a_request_wrote_is_put_back_before_the_next(
    broken: Shop, db: AsyncSession
) -> None:
    async def users() -> int:
        await db.rollback()
        return int(await db.scalar(select(func.count()).select_from(User)) or 0)

    assert (await broken.run(get("/_fuzz/written"))) is not None
    assert await users() == 1
    assert (await broken.run(get("/_fuzz/fine"))) is not None
    assert await users() == 0
