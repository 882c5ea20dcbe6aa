"""What a worker holds when it starts serving is frozen out of the garbage collector's full
collections, once a process (issue 10: 90-100 ms pauses under load before)."""

from __future__ import annotations

import gc

import pytest
from quart import Quart

from shared import gc_freeze


async def test_starting_to_serve_freezes_what_is_alive_once_a_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gc_freeze, "_frozen_in_this_process", False)
    gc.unfreeze()
    first, second = Quart("first"), Quart("second")
    gc_freeze.init_gc_freeze(first)
    gc_freeze.init_gc_freeze(second)

    async with first.test_app():
        frozen = gc.get_freeze_count()
    assert frozen > 1000  # the modules, the app and its templates' machinery

    made_since = [[index] for index in range(5000)]  # tracked objects of later requests
    async with second.test_app():
        # A second app (a test's) freezes nothing more: what is made later stays collectable.
        assert gc.get_freeze_count() <= frozen  # (frozen objects freed by refcount leave it)
    assert len(made_since) == 5000
