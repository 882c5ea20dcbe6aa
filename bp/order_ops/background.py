"""The order jobs inside the app: a background task for as long as the app serves.

Only when settings.background_jobs (tests turn it off and run rounds themselves; a
deployment may run `manage.py orders reconcile|expire` from cron instead). Several app
processes may each run it: every change the jobs make is a conditional UPDATE, so two
rounds at once change each order once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from quart import Quart

from bp.cart.services.payment_settings import SumUpClients
from bp.order_ops.jobs import INTERVAL_SECONDS, run_jobs_forever
from shared.background import run_while_serving
from shared.config import Settings
from shared.http_client import http_client_of

NAME = "order_jobs"
TASK_KEY = f"{NAME}_task"


def init_order_jobs(app: Quart, *, interval: float = INTERVAL_SECONDS) -> None:
    def make_loop(stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        settings: Settings = app.extensions["settings"]
        return run_jobs_forever(
            app.extensions["db_sessionmaker"],
            SumUpClients(http_client_of(app), settings),
            settings,
            stop=stop,
            interval=interval,
        )

    run_while_serving(app, name=NAME, make_loop=make_loop)
