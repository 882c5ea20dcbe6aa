"""What the worker holds once it serves is set aside from the garbage collector (issue 10).

Python's cyclic collector scans every object it tracks in a full (oldest-generation)
collection, and the app's modules, templates and mappers are most of them: about 140,000
objects in a cart worker. Under load, what is alive during a younger collection (the
requests in flight) is promoted to the oldest generation, so full collections come every
few seconds, each one stopping every request in flight for as long as the scan takes: 90 to
100 ms measured in a worker serving the 10-line cart page at 64 connections, a large part
of what separated the page's p99 from the baseline's (`bench/README.md`).

`gc.freeze()` moves what is tracked when the app starts serving into a permanent generation
that collections skip. Those objects live as long as the process anyway; what is made later
is collected as before. Done once a process: a process that starts several apps (the tests)
freezes at the first, so that apps dropped later are still collected.
"""

from __future__ import annotations

import gc

from quart import Quart

_frozen_in_this_process = False


def init_gc_freeze(app: Quart) -> None:
    """Freeze what is alive once the app's other start-up hooks have run; register it last."""

    @app.before_serving
    async def _freeze_what_start_up_made() -> None:
        global _frozen_in_this_process
        if _frozen_in_this_process:
            return
        # Collected first: cyclic garbage of the imports would otherwise stay for good.
        gc.collect()
        gc.freeze()
        _frozen_in_this_process = True
