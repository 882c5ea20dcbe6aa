"""A loop that runs beside the app for as long as it serves, and stops with it.

Used by the event dispatcher and the order jobs. Only when settings.background_jobs:
tests turn it off and drive the loops step by step; deployments that run the loops as
their own commands turn it off too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

from quart import Quart

from shared.config import Settings

STOP_TIMEOUT_SECONDS = 10.0  # the round in progress may finish; then it is cancelled

LoopFactory = Callable[[asyncio.Event], Coroutine[Any, Any, Any]]


def run_while_serving(app: Quart, *, name: str, make_loop: LoopFactory) -> None:
    """Start `make_loop(stop)` once the app serves (engine and Redis open); set `stop` and
    wait for it before they close. The task is kept at app.extensions[f"{name}_task"]."""
    log = logging.getLogger(f"cart.{name}")
    task_key = f"{name}_task"

    @app.while_serving
    async def _loop_while_serving() -> AsyncGenerator[None, None]:
        settings: Settings = app.extensions["settings"]
        if not settings.background_jobs:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(make_loop(stop), name=name)
        app.extensions[task_key] = task
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
            except TimeoutError:  # wait_for has cancelled it
                log.warning("%s cancelled after %gs", name, STOP_TIMEOUT_SECONDS)
            app.extensions.pop(task_key, None)
