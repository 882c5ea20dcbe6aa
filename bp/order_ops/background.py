"""The order jobs inside the app: a background task for as long as the app serves.

Only when settings.background_jobs (tests turn it off and run rounds themselves; a
deployment may run `manage.py orders reconcile|expire` from cron instead). Several app
processes may each run it: every change the jobs make is a conditional UPDATE, so two
rounds at once change each order once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

from quart import Quart

from bp.cart.services.payment_settings import SumUpClients
from bp.order_ops.jobs import INTERVAL_SECONDS, run_jobs_forever
from shared.config import Settings
from shared.http_client import http_client_of

log = logging.getLogger("cart.jobs")

TASK_KEY = "order_jobs_task"
STOP_TIMEOUT_SECONDS = 10.0


def init_order_jobs(app: Quart, *, interval: float = INTERVAL_SECONDS) -> None:
    @app.while_serving
    async def _order_jobs_while_serving() -> AsyncGenerator[None, None]:
        settings: Settings = app.extensions["settings"]
        if not settings.background_jobs:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_jobs_forever(
                app.extensions["db_sessionmaker"],
                SumUpClients(http_client_of(app), settings),
                settings,
                stop=stop,
                interval=interval,
            ),
            name="order-jobs",
        )
        app.extensions[TASK_KEY] = task
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
            except TimeoutError:  # wait_for has cancelled it
                log.warning("order jobs cancelled after %gs", STOP_TIMEOUT_SECONDS)
            app.extensions.pop(TASK_KEY, None)
