"""A real server for the journeys: hypercorn serving app:app on a free port of 127.0.0.1.

Development mode, stated explicitly (APP_MODE=development), on the demo site seeded by
`manage.py migrate` and `manage.py seed`: on the embedded default (a SQLite file and the
secret in a temporary CART_VAR_DIR, never the developer's var/), or on PostgreSQL and Redis
when TEST_DATABASE_URL and TEST_REDIS_URL are set (the database's public schema is dropped
and made again first, as `make test` does: give it one of its own).

APP_URL_CART is the server's own origin, so SumUp's return URL and webhook (which the
sandbox follows and posts) come back to it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.config import PROJECT_ROOT, without_settings
from shared.db import make_engine

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class DemoServer:
    url: str
    database: str  # "sqlite" or "postgresql"
    redis_url: str | None
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(
    *, var_dir: Path, origin: str, database_url: str | None, redis_url: str | None
) -> dict[str, str]:
    env = without_settings(os.environ)
    env.update(
        APP_MODE="development",
        CART_VAR_DIR=str(var_dir),
        APP_URL_CART=origin,
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL_ASYNC"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def reset_postgres_schema(url: str) -> None:
    async def _reset() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    # In a thread of its own: Playwright's sync API may already run an event loop here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _reset()).result()


def _manage(command: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )


@contextmanager
def demo_server(
    work_dir: Path, *, database_url: str | None, redis_url: str | None
) -> Iterator[DemoServer]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    var_dir = work_dir / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    database = "sqlite"
    if database_url:
        if make_url(database_url).get_backend_name() != "postgresql":
            raise RuntimeError("TEST_DATABASE_URL must be a postgresql+asyncpg:// URL")
        database = "postgresql"
        reset_postgres_schema(database_url)
    env = server_env(var_dir=var_dir, origin=origin, database_url=database_url, redis_url=redis_url)
    _manage("migrate", env)
    _manage("seed", env)

    log_path = work_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hypercorn", "app:app", "--bind", f"127.0.0.1:{port}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DemoServer(url=origin, database=database, redis_url=redis_url, log_path=log_path)
    try:
        _wait_until_ready(process, server)
        yield server
    finally:
        _stop(process)


def _wait_until_ready(process: subprocess.Popen[bytes], server: DemoServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited ({process.returncode}) before it was ready:\n"
                f"{server.log_tail()}"
            )
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"the server was not ready in {START_TIMEOUT_SECONDS} s:\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
