"""One app process sending a shopper's first adds, for the multi-process race test.

It lives outside the test module so that a spawned process imports only this and the app,
not pytest's conftest. Each process builds its own app with the factory (its own engine and
connections), as each hypercorn worker or host does, all sharing the SECRET_KEY.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shared.config import load_settings

SERVER_NAME = "localhost"  # the Quart test client's host


def add_in_process(
    database_url: str,
    secret_key: str,
    var_dir: str,
    cookie_name: str,
    cookie_value: str,
    form: dict[str, str],
    headers: dict[str, str],
    requests: int,
    start_line: Any,  # multiprocessing.Barrier shared by all the processes
    results: Any,  # multiprocessing.Queue
) -> None:
    try:
        outcome: Any = asyncio.run(
            _add(
                database_url,
                secret_key,
                var_dir,
                cookie_name,
                cookie_value,
                form,
                headers,
                requests,
                start_line,
            )
        )
    except Exception as error:  # reported to the test, which fails with it
        outcome = ("error", repr(error))
    results.put(outcome)


async def _add(
    database_url: str,
    secret_key: str,
    var_dir: str,
    cookie_name: str,
    cookie_value: str,
    form: dict[str, str],
    headers: dict[str, str],
    requests: int,
    start_line: Any,
) -> tuple[str, list[int]]:
    from app import create_app

    settings = load_settings(
        {
            "APP_MODE": "development",
            "DATABASE_URL_ASYNC": database_url,
            "SECRET_KEY": secret_key,
            "CART_VAR_DIR": str(Path(var_dir)),
            "BACKGROUND_JOBS": "false",
            # The test client calls itself localhost: no redirect to app_urls.cart's host.
            "CANONICAL_HOST_REDIRECT": "false",
        }
    )
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        client.set_cookie(SERVER_NAME, cookie_name, cookie_value)
        # Warm up: the engine connected and the app imported before the start, so the
        # requests of all processes really overlap.
        await client.get("/readyz")
        start_line.wait(timeout=60)  # blocks this process's only thread: nothing else runs
        responses = await asyncio.gather(
            *(client.post("/cart/add", form=form, headers=headers) for _ in range(requests))
        )
        return ("done", [response.status_code for response in responses])
