"""Three hypercorn processes of the app on one PostgreSQL and one Redis, each on a port of
its own, behind the round-robin proxy (proxy.py), whose address is APP_URL_CART: the shop's
one public address, where SumUp's (the sandbox's) webhook and return page come back to.

Development mode, stated explicitly, with one SECRET_KEY (a session cookie made by one
process is read by the others), the sandbox's checkouts in the database (the default), the
event dispatcher and the order jobs running in every process (BACKGROUND_JOBS, the
default), and a Redis stream of the run's own (EVENTS_STREAM).
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
from typing import Any

import httpx
from sqlalchemy import text

from shared.config import PROJECT_ROOT, without_settings
from shared.db import make_engine
from tests.multiprocess.proxy import RoundRobinProxy

PROCESSES = 3
# Bounded, and generous: the machine may be busy with other test runs.
START_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 20
MANAGE_TIMEOUT_SECONDS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_a_thread(coroutine: Any) -> Any:
    """Runs a coroutine to its end from synchronous code, whatever loop is running here."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def reset_postgres_schema(url: str) -> None:
    async def _reset() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    in_a_thread(_reset())


def app_env(
    *, var_dir: Path, origin: str, database_url: str, redis_url: str, stream: str
) -> dict[str, str]:
    env = without_settings(os.environ)
    env.update(
        APP_MODE="development",
        SECRET_KEY="multiprocess-" + "k" * 40,
        DATABASE_URL_ASYNC=database_url,
        REDIS_URL=redis_url,
        EVENTS_STREAM=stream,
        APP_URL_CART=origin,
        CART_VAR_DIR=str(var_dir),
        AUDIT_LOG=str(var_dir / "audit.log"),
        BACKGROUND_JOBS="true",
        SUMUP_SANDBOX_STORE="database",
        # The sandbox is this same cluster: on a busy machine its answer may take a while.
        SUMUP_TIMEOUT_SECONDS="60",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(command: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MANAGE_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )


@dataclass
class Process:
    index: int
    port: int
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text_ = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text_.splitlines()[-lines:])


@dataclass
class Cluster:
    proxy: RoundRobinProxy
    processes: list[Process]
    env: dict[str, str]
    started_in_seconds: float

    @property
    def url(self) -> str:
        return self.proxy.url

    def logs(self) -> str:
        return "\n".join(f"--- process {p.index} ---\n{p.log_tail()}" for p in self.processes)


def _start(index: int, port: int, env: dict[str, str], work_dir: Path) -> Process:
    log_path = work_dir / f"process-{index}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [sys.executable, "-m", "hypercorn", "app:app", "--bind", f"127.0.0.1:{port}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(index, port, popen, log_path)


def _wait_until_ready(processes: list[Process]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    waiting = list(processes)
    while waiting and time.monotonic() < deadline:
        for process in list(waiting):
            if process.popen.poll() is not None:
                raise RuntimeError(
                    f"process {process.index} exited ({process.popen.returncode}) before it "
                    f"was ready:\n{process.log_tail()}"
                )
            try:
                # /readyz answers under any host name: the database and Redis answer.
                if httpx.get(process.url + "/readyz", timeout=5).status_code == 200:
                    waiting.remove(process)
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    if waiting:
        tails = "\n".join(p.log_tail() for p in waiting)
        raise RuntimeError(f"not ready in {START_TIMEOUT_SECONDS} s: {waiting}\n{tails}")


def _stop(process: Process) -> None:
    if process.popen.poll() is not None:
        return
    os.killpg(process.popen.pid, signal.SIGTERM)
    try:
        process.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait()


@contextmanager
def cluster(work_dir: Path, *, database_url: str, redis_url: str, stream: str) -> Iterator[Cluster]:
    """Schema reset and migrated, then the processes and the proxy; all stopped after."""
    started = time.monotonic()
    proxy_port = free_port()
    var_dir = work_dir / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = app_env(
        var_dir=var_dir,
        origin=f"http://127.0.0.1:{proxy_port}",
        database_url=database_url,
        redis_url=redis_url,
        stream=stream,
    )
    reset_postgres_schema(database_url)
    manage("migrate", env)
    ports = [free_port() for _ in range(PROCESSES)]
    processes = [_start(i, port, env, work_dir) for i, port in enumerate(ports)]
    proxy = RoundRobinProxy(proxy_port, ports)
    try:
        _wait_until_ready(processes)
        proxy.start()
        yield Cluster(proxy, processes, env, time.monotonic() - started)
    finally:
        try:
            proxy.stop()
        finally:
            for process in processes:
                _stop(process)
